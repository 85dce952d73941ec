"""The registration burst's floor (bench/burst.py): the same people once more, each with an
address the API's schema must refuse; an answer other than 422 means something was registered
or broke, and fails the run."""

from __future__ import annotations

import json

from bench.burst import Answer, Person


def _person(refused: bool) -> Person:
    person = Person(7, "http://127.0.0.1:1", "rush", "general", via_api=True)
    person.prepare(refused=refused)
    return person


def test_the_floors_requests_carry_an_address_without_a_domain():
    body = json.loads(_person(refused=True).request.partition(b"\r\n\r\n")[2])
    assert body["email"] == "rush00007"
    assert json.loads(_person(refused=False).request.partition(b"\r\n\r\n")[2])["email"] == (
        "rush00007@example.com"
    )


def test_a_refused_request_must_be_answered_422_and_anything_else_is_a_problem():
    person = _person(refused=True)
    refused, registered = Answer(status=422), Answer(status=201)
    person._judge_api_answer(refused, b'{"errors": []}')
    person._judge_api_answer(registered, b'{"status": "confirmed"}')
    assert refused.problem == ""
    assert "must be refused" in registered.problem


def test_a_registration_must_still_be_answered_201():
    person = _person(refused=False)
    answer = Answer(status=422)
    person._judge_api_answer(answer, b"{}")
    assert answer.problem.startswith("HTTP 422")
