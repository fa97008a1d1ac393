"""Payment reminders: a set-based planner, the contact policy and a scheduler.

`planner` turns account state into `reminder_jobs` rows with a few INSERT …
SELECTs, `contact_policy` decides (purely, from the policy file and counts the
scheduler reads) whether a job may go out now, and `scheduler` claims due
jobs under a lease and sends them through `bot.channels.outbound`.
"""
