"""The agent desk: the queue, taking and handing back conversations, supervision."""
