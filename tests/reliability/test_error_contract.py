"""The error contract over HTTP (issue #22, points 7, 9 and 11): malformed requests are 400 with a code, never
a 500 with a traceback; every GraphQL error carries a code; an unknown token is UNAUTHENTICATED (401), and so
is no token where a field needs a role (200, on that field), a valid one without the role FORBIDDEN; feedback
mutations answer bad ids with their union's error types; an expected error is one log line with its code; a
client that goes away is not logged as a 500."""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error

import pytest

from tests.test_server import _get, _serve, create_token

DEEP = b'{"query": "{ dataVersion }", "variables": ' + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"}"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    folder = tmp_path_factory.mktemp("contract")
    db = f"sqlite:///{folder / 'c.db'}"
    tokens = {}
    for role in ("viewer", "editor"):
        tokens[role] = create_token(db, role, role)
    log = folder / "server.log"
    with log.open("wb") as sink:
        proc, base = _serve(db, stderr=sink)
        try:
            yield base, tokens, log
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _post(base: str, body: bytes, headers: dict | None = None) -> tuple[int, dict]:
    try:
        status, text = _get(base + "/graphql", body, {"content-type": "application/json", **(headers or {})})
    except urllib.error.HTTPError as err:
        with err:
            status, text = err.code, err.read().decode()
    return status, json.loads(text)


@pytest.mark.parametrize(("body", "says"), [
    (b'"{ dataVersion }"', "must be a JSON object"),
    (b"\xff\xfe{}", "not valid JSON"),
    (DEEP, "at most 1,024 levels deep"),
    (b'{"query": "{ dataVersion }", "variables": ' + b"[" * 5000 + b"]" * 5000 + b"}", "at most 1,024 levels deep"),
    (b'{"query": "{ dataVersion }", "variables": {"n": NaN}}', "not valid JSON"),
    (b'[{"query": "{ dataVersion }"}]', "one operation per request"),
    (b'{"query": 5}', "must be a string"),
])
def test_malformed_requests_are_400_with_a_code(live, body, says):
    base, _, _ = live
    status, answer = _post(base, body)
    assert status == 400 and answer["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert says in answer["errors"][0]["message"]


@pytest.mark.parametrize(("name", "says"), [
    ("B", "operationName 'B' names no operation of the query"),
    ("Z" * 900_000, "operationName 'ZZZZZ"),  # was echoed whole: a 900 KB message
    (["A"], "`operationName` must be a string"),  # was 'Unknown operation named "['A']"'
])
def test_an_operation_name_the_query_lacks_is_named_briefly(live, name, says):
    base, _, _ = live
    status, answer = _post(base, json.dumps({"query": "query A { dataVersion }", "operationName": name}).encode())
    message = answer["errors"][0]["message"]
    assert status == 400 and answer["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert says in message and len(message) < 300


def test_a_compressed_body_is_refused_as_such(live):
    import gzip

    base, _, _ = live
    status, answer = _post(base, gzip.compress(b'{"query": "{ dataVersion }"}'), {"content-encoding": "gzip"})
    assert status == 415 and answer["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert answer["errors"][0]["message"] == ("the request body is compressed (content-encoding: 'gzip'), which this "
                                              "server does not take: send it uncompressed")  # was: "not valid UTF-8"


def test_a_query_in_another_content_type_is_told_what_to_send(live):
    base, _, _ = live
    status, answer = _post(base, b'{"query": "{ dataVersion }"}', {"content-type": "text/plain"})
    assert status == 400 and "application/json" in answer["errors"][0]["message"]


def test_a_mutation_over_get_is_refused(live):
    base, tokens, _ = live
    url = base + "/graphql?query=" + "mutation%7BmarkMet(cityId:%22riga%22,peerId:%22oslo%22)%7B__typename%7D%7D"
    with pytest.raises(urllib.error.HTTPError) as err:
        _get(url, headers={"authorization": f"Bearer {tokens['editor']}"})
    with err.value:
        answer = json.loads(err.value.read())
    assert err.value.code == 400 and answer["errors"] == [{  # it did not say what would do
        "message": "mutations are not accepted over GET, which never writes: POST them as JSON, "
                   "{\"query\": \"mutation { ... }\"}", "extensions": {"code": "BAD_REQUEST"}}]


@pytest.mark.parametrize("header", ["Bearer cp_not-a-token", "Bearer ", "Basic dXNlcjpwYXNz", "cp_no_scheme"])
def test_an_unknown_or_malformed_token_is_unauthenticated(live, header):
    base, _, _ = live
    status, answer = _post(base, b'{"query": "{ dataVersion }"}', {"authorization": header})
    assert status == 401 and answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("order", [0, 1])
def test_two_authorization_headers_are_unauthenticated_whichever_is_valid(live, order):
    base, tokens, _ = live
    connection = http.client.HTTPConnection(base.removeprefix("http://"), timeout=10)
    try:
        connection.putrequest("POST", "/graphql")
        for token in [tokens["editor"], "cp_not-a-token"][::1 if order else -1]:  # the last one counted
            connection.putheader("authorization", f"Bearer {token}")
        body = b'{"query": "{ dataVersion }"}'
        connection.putheader("content-type", "application/json")
        connection.putheader("content-length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        answer = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 401 and answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "more than one Authorization header" in answer["errors"][0]["message"]


@pytest.mark.parametrize(("role", "code"), [("viewer", "FORBIDDEN"), (None, "UNAUTHENTICATED")])
def test_a_valid_token_without_the_role_is_forbidden_and_none_unauthenticated(live, role, code):
    base, tokens, _ = live
    query = json.dumps({"query": 'mutation { markMet(cityId: "riga", peerId: "oslo") { __typename } }'}).encode()
    status, answer = _post(base, query, {"authorization": f"Bearer {tokens[role]}"} if role else {})
    assert status == 200 and [e["extensions"]["code"] for e in answer["errors"]] == [code]


@pytest.mark.parametrize("mutation", ["markMet", "dismissMatch"])
@pytest.mark.parametrize(("city", "peer"), [("nowhere", "riga"), ("riga", "riga")])
def test_feedback_with_bad_ids_answers_with_the_union_error(live, mutation, city, peer):
    base, tokens, _ = live
    query = (f'mutation {{ {mutation}(cityId: "{city}", peerId: "{peer}") {{ __typename '
             "... on ValidationError { problems { field message } } ... on NotFoundError { message } } }")
    status, answer = _post(base, json.dumps({"query": query}).encode(), {"authorization": f"Bearer {tokens['editor']}"})
    assert status == 200 and "errors" not in answer, answer
    assert answer["data"][mutation]["__typename"] in ("ValidationError", "NotFoundError")


def test_expected_errors_are_one_log_line_each_with_their_code(live):
    base, _, log = live
    before = log.read_text()
    for query in ["{ nope }", "{ dataVersion ", '{ recommendPeers(cityId: "nowhere") { score } }']:
        _post(base, json.dumps({"query": query}).encode())
    time.sleep(0.5)
    added = log.read_text()[len(before):]
    errors = [json.loads(line)["error"] for line in added.splitlines() if line.startswith('{"error"')]
    assert errors == ["GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED", "NOT_FOUND"], added
    assert "Traceback" not in added


def test_a_client_that_goes_away_is_not_logged_as_a_500(live):
    base, _, log = live
    before = len(log.read_text())
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:  # half a body, then the client hangs up
        sock.sendall(b"POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                     b"content-length: 1000\r\n\r\n{\"query\": ")
        time.sleep(0.2)
    time.sleep(1.0)
    added = log.read_text()[before:]
    lines = [json.loads(x) for x in added.splitlines() if x.startswith('{"method"')]
    assert [line["status"] for line in lines] == [499], added
    assert "Traceback" not in added
