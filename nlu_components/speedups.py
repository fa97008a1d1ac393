"""Speed-ups for the Rasa server process, each found with a profiler.

Installed when Rasa imports this package (config.yml names our NLU
components, so the server imports it before it loads the model). Each patch
keeps Rasa's behaviour exactly and is applied only to the Rasa version it
was written against; on any other version nothing is patched.

1. **Action server responses are validated with a validator built once.**
   Rasa 3.6 checks every custom action's response with `jsonschema.validate`,
   which first re-validates the (constant) response schema against the JSON
   Schema meta-schema and builds a new validator, on every call. py-spy on
   the bench stack at 10 concurrent conversations: 40 % of the Rasa server's
   CPU was that schema check. The response itself is still validated against
   the same schema, with the same error (`best_match`) and message.
2. **Calls to the action server reuse their connections.** Rasa 3.6 opens a
   new aiohttp `ClientSession` (and so a new TCP connection, and a new
   connection for the action server to accept) for every request to an
   endpoint. Each endpoint now keeps one session per event loop, with the
   same headers, authentication and timeout; idle connections are dropped
   after 3 s, before the action server's own 5 s keep-alive ends, so a
   connection the server is closing is never reused.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

log = logging.getLogger(__name__)

RASA_SERIES = "3.6."
_MARK = "_cardbot_prebuilt_validator"
_SESSION_MARK = "_cardbot_shared_sessions"
CLIENT_KEEPALIVE_SECONDS = 3.0


def install() -> bool:
    """Apply the speed-ups if this is the Rasa they were written for. Returns whether.

    `RASA_SPEEDUPS=off` in the Rasa server's environment leaves Rasa as it is
    (to compare, or to rule the patches out when chasing a problem).
    """
    if os.environ.get("RASA_SPEEDUPS", "on").strip().lower() in ("off", "0", "false", "no"):
        log.info("speedups not applied: RASA_SPEEDUPS=off")
        return False
    if not _prebuilt_validator():
        return False
    _shared_sessions()
    return True


def _prebuilt_validator() -> bool:
    try:
        import jsonschema
        import rasa
        from rasa.core.actions.action import RemoteAction
        from rasa.shared.constants import DOCS_BASE_URL
    except ImportError:  # not the Rasa process (the app venv imports nothing of this)
        return False
    if not rasa.__version__.startswith(RASA_SERIES):
        log.warning(
            "speedups not applied: written for Rasa %sx, found %s", RASA_SERIES, rasa.__version__
        )
        return False
    if getattr(RemoteAction, _MARK, False):
        return True
    schema = RemoteAction.action_response_format_spec()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)  # once, as jsonschema.validate does on every call
    validator = validator_class(schema)

    def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
        error = jsonschema.exceptions.best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    setattr(RemoteAction, _MARK, True)
    return True


class _Borrowed:
    """`async with` over a shared session that leaves it open afterwards."""

    def __init__(self, session: Any) -> None:
        self._session = session

    async def __aenter__(self) -> Any:
        return self._session

    async def __aexit__(self, *_exc: object) -> None:
        return None


def _shared_sessions() -> None:
    import aiohttp
    from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

    if getattr(EndpointConfig, _SESSION_MARK, False):
        return

    def session(self: Any) -> _Borrowed:
        loop = asyncio.get_running_loop()
        shared = self.__dict__.get(_SESSION_MARK)
        if shared is None or shared.closed or shared._loop is not loop:
            auth = (
                aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
                if self.basic_auth
                else None
            )
            shared = aiohttp.ClientSession(
                headers=self.headers,
                auth=auth,
                timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(keepalive_timeout=CLIENT_KEEPALIVE_SECONDS),
            )
            self.__dict__[_SESSION_MARK] = shared
        return _Borrowed(shared)

    EndpointConfig.session = session
    setattr(EndpointConfig, _SESSION_MARK, True)
