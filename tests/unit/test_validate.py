"""Which of `rasa data validate`'s warnings fail the build."""

from bot.runner.validate import unexpected_warnings


def _warning(message: str) -> str:
    return f"/x/rasa/shared/utils/io.py:100: UserWarning: {message}\n"


def test_only_warnings_that_point_at_a_real_problem_fail() -> None:
    output = "".join(
        [
            _warning("The utterance 'utter_balance' is not used in any story or rule."),
            _warning("The utterance 'utter_orphan' is not used in any story or rule."),
            _warning(
                "The intent 'EXTERNAL_reminder' is listed in the domain file, but is not "
                "found in the NLU training data."
            ),
            _warning(
                "The intent 'ask_balance' is listed in the domain file, but is not found "
                "in the NLU training data."
            ),
        ]
    )
    problems = unexpected_warnings(output, allowed_unused={"utter_balance"})
    assert problems == [
        "The utterance 'utter_orphan' is not used in any story or rule.",
        "The intent 'ask_balance' is listed in the domain file, but is not found "
        "in the NLU training data.",
    ]
