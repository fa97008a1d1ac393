"""Fuzzing every public endpoint from the OpenAPI description the gateway serves.

For each operation in `GET /openapi.json`, hypothesis builds requests from
its parameters and body schema, mixed with nasty values (NUL, emoji, 10,000
characters, invalid JSON, wrong types, huge numbers, unicode in paths,
forged proxy headers), against the real gateway on a seeded database with a
fake Rasa (sometimes failing) and a fake Twilio on loopback. Whatever comes
in, the gateway answers:

- never a 5xx, except the deliberate 503 of the chat API and the health
  check while a dependency (Rasa) is down;
- 403 for a Twilio webhook without a valid signature, and with a valid
  signature never 403 (the signature is checked over what was really sent);
- JSON on every `/api/` path.

The number of generated requests is written to var/test-results/fuzz-cases.txt.
"""

from __future__ import annotations

import json
import string
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AnyHttpUrl, SecretStr
from sqlalchemy import select
from structlog.testing import capture_logs
from yarl import URL

from bot.db.models import Account
from bot.gateway.openapi import OPENAPI_PATH, describe
from bot.services.payment_links import make_token
from bot.settings import VAR_DIR
from tests.conftest import DatabaseFactory
from tests.gateway_fakes import FakeActionServer, LoopbackServer
from tests.integration.twilio_support import (
    EMILY,
    STRANGER,
    ZHANG_WEI,
    ClientFactory,
    Harness,
    restore,
    running_harness,
    seed_database,
    snapshot_consents,
)
from tests.support import SECRET
from tests.twilio_fake import PUBLIC_BASE_URL, sign

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:twilio\\..*")

EXAMPLES_PER_OPERATION = 60
MAX_REQUEST_BYTES = 128 * 1024
MAX_REQUEST_LINE = 8000  # aiohttp reads at most 8,190 bytes of a request line
CASES: Counter[str] = Counter()  # generated requests per operation
STATUSES: Counter[str] = Counter()  # and what they were answered
RESULTS_FILE = VAR_DIR / "test-results" / "fuzz-cases.txt"

FUZZ = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,  # no example database left in the working tree
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one gateway serves every example
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# --- nasty values ---------------------------------------------------------------------

# Text that can be sent at all: no lone surrogates (not encodable as UTF-8).
CHARACTERS = st.characters(codec="utf-8")
TEXT = st.text(CHARACTERS, max_size=40)
NASTY_STRINGS = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a\x00b",
        "\r\n\r\n",
        "\u202e\u200b\ufeff",
        "😀" * 40,
        "👨‍👩‍👧‍👦🏳️‍🌈",
        "x" * 10_000,
        "字" * 2_500,
        "4111 1111 1111 1111",
        "' OR 1=1 --",
        "<script>alert(1)</script>",
        "]]><Response><Dial>+15005550006</Dial></Response>",
        "../../../../etc/passwd",
        "%00%ff%2e%2e",
        "${jndi:ldap://example.com/a}",
        "{{7*7}}",
        "null",
        "NaN",
        "-1",
        "1e309",
        "9" * 400,
        str(2**64),
        "+" * 30,
        "*",
        "STOP",
        "退订",
        "i dont want to live anymore",
    ]
)
NASTY_TEXT = st.one_of(NASTY_STRINGS, TEXT)
HUGE_NUMBERS = st.one_of(
    st.integers(min_value=-(2**200), max_value=2**200),
    st.sampled_from([2**63, -(2**63) - 1, 10**400]),
    st.floats(allow_nan=False, allow_infinity=False),
)
JSON_SCALARS = st.one_of(st.none(), st.booleans(), HUGE_NUMBERS, NASTY_TEXT)
JSON_ANY = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(TEXT, children, max_size=4)
    ),
    max_leaves=8,
)
# What a header may carry (latin-1, no line breaks).
HEADER_TEXT = st.text(
    st.sampled_from(string.ascii_letters + string.digits + " ,;=.-_:/[]*+%\"'é\t"), max_size=60
)
KNOWN_PHONES = st.sampled_from([EMILY, ZHANG_WEI, STRANGER, "+8613600000000", "anonymous"])


def resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def valid_for(
    schema: dict[str, Any], schemas: dict[str, Any], *, mutate: bool = True
) -> st.SearchStrategy[Any]:
    """Values that satisfy `schema` (the subset of OpenAPI this description uses).

    With `mutate`, an object's fields are each sometimes nasty or of the wrong type.
    """
    if "$ref" in schema:
        return valid_for(resolve(schema, schemas), schemas, mutate=mutate)
    if "oneOf" in schema:
        return st.one_of([valid_for(one, schemas, mutate=mutate) for one in schema["oneOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        return st.text(
            CHARACTERS,
            min_size=schema.get("minLength", 0),
            max_size=min(schema.get("maxLength", 80), 80),
        )
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        return st.lists(valid_for(schema.get("items", {}), schemas, mutate=mutate), max_size=3)
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))

        def field(sub: dict[str, Any]) -> st.SearchStrategy[Any]:
            return value_for(sub, schemas) if mutate else valid_for(sub, schemas, mutate=False)

        return st.fixed_dictionaries(
            {k: field(v) for k, v in properties.items() if k in required},
            optional={k: field(v) for k, v in properties.items() if k not in required},
        )
    return JSON_ANY


def value_for(schema: dict[str, Any], schemas: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Mostly valid values, often nasty ones, sometimes the wrong type altogether."""
    return st.one_of(valid_for(schema, schemas, mutate=False), NASTY_TEXT, JSON_ANY)


def text_for(schema: dict[str, Any], schemas: dict[str, Any]) -> st.SearchStrategy[str]:
    """A string for a path, query, header or form field (where everything is text)."""
    return st.one_of(valid_for(schema, schemas, mutate=False).map(str), NASTY_TEXT)


def object_with_mutations(
    schema: dict[str, Any], schemas: dict[str, Any]
) -> st.SearchStrategy[dict[str, Any]]:
    """An object from the schema: as specified, or with fields nasty, missing or added."""
    extras = st.dictionaries(TEXT, JSON_ANY, max_size=3)
    return st.one_of(
        valid_for(schema, schemas, mutate=False),
        st.builds(lambda obj, more: {**more, **obj}, valid_for(schema, schemas), extras),
    )


# --- requests from the description ---------------------------------------------------------


@dataclass
class Case:
    method: str
    path: str  # already percent-encoded, query included
    headers: dict[str, str]
    body: bytes | None
    form: dict[str, str] | None  # for signing


@st.composite
def requests_for(
    draw: st.DrawFn,
    document: dict[str, Any],
    path: str,
    method: str,
    known: dict[str, st.SearchStrategy[str]],
) -> Case:
    operation = document["paths"][path][method]
    schemas = document["components"]["schemas"]
    url = path
    query: list[tuple[str, str]] = []
    headers: dict[str, str] = {}
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        where = parameter["in"]
        if where == "path":
            value = draw(
                st.one_of(known.get(parameter["name"], st.nothing()), text_for(schema, schemas))
            )
            url = url.replace("{" + parameter["name"] + "}", quote(value, safe=""))
        elif where == "query" and draw(st.booleans()):
            query.append((parameter["name"], draw(text_for(schema, schemas))))
        elif where == "header" and draw(st.booleans()):
            headers[parameter["name"]] = draw(HEADER_TEXT)
    if draw(st.booleans()):  # forged or odd proxy headers (the test trusts loopback)
        headers["X-Forwarded-For"] = draw(
            st.one_of(HEADER_TEXT, st.sampled_from(["198.51.100.7", "::1, 10.0.0.1", "[::1]:80"]))
        )
    if query:
        url += "?" + urlencode(query, quote_via=quote)
    body: bytes | None = None
    form: dict[str, str] | None = None
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        schema = content["application/json"]["schema"]
        kind = draw(st.sampled_from(["object", "object", "any", "raw"]))
        if kind == "object":
            body = json.dumps(draw(object_with_mutations(schema, schemas))).encode()
        elif kind == "any":
            body = json.dumps(draw(JSON_ANY)).encode()
        else:
            body = draw(
                st.one_of(
                    st.binary(max_size=200),
                    st.sampled_from([b"{", b'{"text": "\\ud800"}', b"\xff\xfe\x00", b"[]" * 5000]),
                )
            )
        headers["Content-Type"] = draw(
            st.sampled_from(
                ["application/json"] * 4 + ["text/plain", "application/json; charset=latin-1"]
            )
        )
    elif "application/x-www-form-urlencoded" in content:
        schema = resolve(content["application/x-www-form-urlencoded"]["schema"], schemas)
        if "oneOf" in schema:
            schema = resolve(draw(st.sampled_from(schema["oneOf"])), schemas)
        properties = schema["properties"]
        required = set(schema.get("required", []))

        def field(name: str) -> st.SearchStrategy[str]:
            value = text_for(properties[name], schemas)
            return st.one_of(KNOWN_PHONES, value) if name in ("From", "To") else value

        if draw(st.sampled_from([True, True, True, False])):  # what Twilio would send
            form = draw(
                st.fixed_dictionaries(
                    {k: valid_for(properties[k], schemas, mutate=False) for k in required},
                    optional={k: field(k) for k in properties if k not in required},
                )
            )
        else:
            form = draw(st.fixed_dictionaries({}, optional={k: field(k) for k in properties}))
        form.update(
            draw(
                st.dictionaries(
                    st.text(string.ascii_letters, min_size=1, max_size=8), TEXT, max_size=2
                )
            )
        )
        body = urlencode(form, quote_via=quote).encode()
        headers["Content-Type"] = draw(
            st.sampled_from(
                ["application/x-www-form-urlencoded"] * 5 + ["multipart/form-data", "text/plain"]
            )
        )
    return Case(method.upper(), url, headers, body, form)


# --- the gateway under fuzz --------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_db(database_factory: DatabaseFactory) -> str:
    return seed_database(database_factory)


@pytest.fixture(scope="module", autouse=True)
def record_cases(request: pytest.FixtureRequest) -> Iterator[None]:
    CASES.clear()
    STATUSES.clear()
    yield
    total = sum(CASES.values())
    lines = [f"total {total}"]
    lines += [f"{name}: {count}" for name, count in sorted(CASES.items())]
    lines += ["", "answers:"] + [f"{k}: {v}" for k, v in sorted(STATUSES.items())]
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"fuzz: {total} generated requests ({RESULTS_FILE})")


@pytest.fixture
async def gateway(aiohttp_client: ClientFactory, fuzz_db: str) -> AsyncIterator[Harness]:
    consents = snapshot_consents(fuzz_db)
    action_server = LoopbackServer(FakeActionServer().make_app)
    await action_server.start()
    try:
        async with running_harness(
            aiohttp_client,
            fuzz_db,
            action_server_url=AnyHttpUrl(action_server.url),
            trusted_proxies=["127.0.0.0/8"],  # so forged X-Forwarded-For is parsed
            rate_limit_exempt=[],
            # Limits on, but out of reach: the fuzz is for what lies behind them.
            rate_limit_chat_per_ip=10**9,
            rate_limit_chat_per_conversation=10**9,
            rate_limit_chat_poll_per_ip=10**9,
            rate_limit_pay_per_ip=10**9,
            rate_limit_health_per_ip=10**9,
            rate_limit_sms_per_number=10**9,
            rate_limit_voice_per_call=10**9,
            health_timeout_seconds=1.0,
            session_secret=SecretStr(SECRET),
        ) as harness:
            yield harness
    finally:
        await action_server.stop()
        restore(fuzz_db, consents)


@pytest.fixture
async def known(gateway: Harness) -> dict[str, st.SearchStrategy[str]]:
    """Path values the description cannot guess: live payment links, used conversation ids."""
    now = datetime.now(timezone.utc)
    async with gateway.sessions() as session:
        accounts = list((await session.scalars(select(Account.id).limit(8))).all())
    tokens = [make_token(SECRET, account_id, now) for account_id in accounts]
    tokens.append(make_token(SECRET, accounts[0], now - timedelta(days=1)))  # expired
    return {
        "token": st.sampled_from(tokens),
        "conversation_id": st.sampled_from(["sms:14155550101", "voice:CA" + "0" * 32]),
    }


async def served_document(gateway: Harness) -> dict[str, Any]:
    response = await gateway.client.get(OPENAPI_PATH)
    assert response.status == 200
    document: dict[str, Any] = await response.json()
    return document


OPERATIONS = [
    (path, method) for path, operations in describe()["paths"].items() for method in operations
]
TWILIO = "/twilio/"
RASA_MODES = st.sampled_from(["ok", "ok", "ok", "error", "garbage", "rejected"])


async def send(
    gateway: Harness, case: Case, name: str, **extra_headers: str
) -> tuple[int, str, str]:
    CASES[name] += 1
    response = await gateway.client.request(
        case.method,
        URL(case.path, encoded=True),
        data=case.body,
        headers={**case.headers, **extra_headers},
    )
    STATUSES[f"{name} -> {response.status}"] += 1
    return response.status, response.content_type, await response.text()


def check_api_json(case: Case, status: int, content_type: str, text: str) -> None:
    if case.path.startswith("/api/"):
        assert content_type == "application/json", (status, text[:200])
        body = json.loads(text)
        if status != 200:
            assert isinstance(body.get("error"), str) and body["error"], body


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
@FUZZ
@given(data=st.data())
async def test_no_5xx_from_any_public_endpoint(
    gateway: Harness,
    known: dict[str, st.SearchStrategy[str]],
    path: str,
    method: str,
    data: st.DataObject,
) -> None:
    document = await served_document(gateway)
    assert document == json.loads(json.dumps(describe()))  # what is fuzzed is what is served
    case = data.draw(requests_for(document, path, method, known), label="request")
    mode = data.draw(RASA_MODES, label="rasa")
    forged = data.draw(st.one_of(st.none(), HEADER_TEXT), label="signature")
    gateway.rasa.mode = mode
    with capture_logs() as logs:
        await exercise(gateway, case, f"{method.upper()} {path}", forged, rasa_down=mode != "ok")
    # No exception was caught and hidden behind a polite answer (voice answers 200
    # then). Error logs about the fake Rasa's deliberate failures are expected.
    crashes = [e for e in logs if e.get("exc_info") or str(e["event"]).endswith("_error")]
    assert crashes == [], crashes


async def exercise(
    gateway: Harness, case: Case, name: str, forged: str | None, *, rasa_down: bool
) -> None:
    too_large = case.body is not None and len(case.body) > MAX_REQUEST_BYTES
    if len(case.path) > MAX_REQUEST_LINE:
        # aiohttp's parser refuses the request line before the app sees it.
        status, _, _ = await send(gateway, case, name + " long url")
        assert status == 400
        return

    if case.path.startswith(TWILIO):
        # Without a valid signature: 403, nothing processed.
        headers = {} if forged is None else {"X-Twilio-Signature": forged}
        status, _, text = await send(gateway, case, name + " unsigned", **headers)
        assert status == (413 if too_large else 403), text[:200]
        # With one: processed, and never a server error.
        if case.form is not None:
            signature = sign(PUBLIC_BASE_URL + case.path, case.form)
            status, _, text = await send(
                gateway, case, name + " signed", **{"X-Twilio-Signature": signature}
            )
            if too_large:
                assert status == 413
            elif case.headers["Content-Type"] == "application/x-www-form-urlencoded":
                assert status in (200, 400), text[:300]
            else:
                assert status in (400, 403), text[:300]  # not a form: nothing to sign over
        return

    status, content_type, text = await send(gateway, case, name)
    deliberate = status == 503 and rasa_down and case.path.startswith(("/api/chat", "/healthz"))
    assert status < 500 or deliberate, (status, text[:300])
    check_api_json(case, status, content_type, text)


@FUZZ
@given(
    path=st.one_of(
        TEXT.map(lambda s: "/" + quote(s, safe="")),
        st.sampled_from(
            [
                "/api/",
                "/api/chat/",
                "/api/chat/%00/messages",
                "/pay/",
                "/%F0%9F%98%80",
                "/twilio/voice/gather/extra",
                "/api/chat/x/messages/extra",
            ]
        ),
    ),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
)
async def test_unknown_paths_and_methods_are_4xx(gateway: Harness, path: str, method: str) -> None:
    CASES["unknown path or method"] += 1
    response = await gateway.client.request(method, URL(path, encoded=True))
    STATUSES[f"unknown path or method -> {response.status}"] += 1
    assert response.status < 500, (method, path, response.status)
    if path.startswith("/api/") and method != "HEAD" and response.status >= 400:
        assert response.content_type == "application/json"
