"""The Rasa server's speed-ups keep Rasa's answers (run in Rasa's own environment)."""

from __future__ import annotations

import subprocess
import textwrap

import pytest

from bot.settings import PROJECT_ROOT

RASA_PYTHON = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"


def _in_rasa(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `code` with `.venv-rasa`'s Python from the project root; it must succeed."""
    done = subprocess.run(
        [str(RASA_PYTHON), "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3", **env},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


CHECK = textwrap.dedent(
    """
    import jsonschema
    from rasa.core.actions.action import RemoteAction
    import nlu_components  # installs the speed-ups, as the Rasa server does

    def verdict(result):
        try:
            return RemoteAction._validate_action_result(None, result)
        except jsonschema.ValidationError as error:
            return error.message

    def original(result):
        try:
            jsonschema.validate(result, RemoteAction.action_response_format_spec())
            return True
        except jsonschema.ValidationError as error:
            return error.message

    cases = [
        {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": [{"text": "hi"}]},
        {"events": [], "responses": []},
        {"events": "nope"},
        {"events": [{"event": "no_such_event"}]},
        {"responses": ["not an object"]},
    ]
    theirs_all = [original(case) for case in cases]
    # Once installed, the constant schema itself is never checked again.
    spec = RemoteAction.action_response_format_spec()
    validator_class = jsonschema.validators.validator_for(spec)

    def refuse(*_args, **_kwargs):
        raise AssertionError("schema checked again")

    validator_class.check_schema = classmethod(refuse)
    for case, theirs in zip(cases, theirs_all):
        ours = verdict(case)
        assert ours is True if theirs is True else theirs in ours, (case, ours, theirs)
        if ours is not True:
            assert "Failed to validate Action server response" in ours
    print("ok", sum(verdict(c) is True for c in cases))
    """
)


@pytest.mark.skipif(not RASA_PYTHON.exists(), reason="needs .venv-rasa (make venvs)")
def test_action_responses_are_judged_as_rasa_judges_them() -> None:
    done = _in_rasa(CHECK)
    assert done.stdout.strip().endswith("ok 2")


REUSE = textwrap.dedent(
    """
    import asyncio
    from aiohttp import web
    import nlu_components  # installs the speed-ups, as the Rasa server does
    from rasa.utils.endpoints import EndpointConfig

    peers, tokens = set(), []

    async def handle(request):
        peers.add(request.transport.get_extra_info("peername"))
        tokens.append((request.headers.get("X-Token"), request.query.get("token")))
        return web.json_response({"events": [], "responses": []})

    async def main():
        app = web.Application()
        app.router.add_post("/webhook", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        endpoint = EndpointConfig(
            f"http://127.0.0.1:{port}/webhook", headers={"X-Token": "h"}, token="t"
        )
        answers = [await endpoint.request(json={"n": n}) for n in range(5)]
        assert answers == [{"events": [], "responses": []}] * 5
        await runner.cleanup()

    asyncio.run(main())
    assert tokens == [("h", "t")] * 5, tokens
    print("connections", len(peers))
    """
)


@pytest.mark.skipif(not RASA_PYTHON.exists(), reason="needs .venv-rasa (make venvs)")
def test_calls_to_an_endpoint_share_one_connection() -> None:
    done = _in_rasa(REUSE)
    assert done.stdout.strip().endswith("connections 1")  # Rasa alone opens 5


@pytest.mark.skipif(not RASA_PYTHON.exists(), reason="needs .venv-rasa (make venvs)")
def test_rasa_speedups_off_leaves_rasa_as_it_is() -> None:
    check = (
        "import nlu_components\n"
        "from rasa.core.actions.action import RemoteAction\n"
        "from rasa.utils.endpoints import EndpointConfig\n"
        "print(hasattr(RemoteAction, '_cardbot_prebuilt_validator'),"
        " hasattr(EndpointConfig, '_cardbot_shared_sessions'))\n"
    )
    answers = {}
    for setting in ("off", "on"):
        done = _in_rasa(check, RASA_SPEEDUPS=setting)
        answers[setting] = done.stdout.strip().splitlines()[-1]
    assert answers == {"off": "False False", "on": "True True"}
