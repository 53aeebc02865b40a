"""A parent and a child made through the real API (the birth dates are really sealed)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

PASSWORD = "correct horse battery staple"


def years_ago(years: int) -> str:
    """An ISO birth date ``years`` years back (first of this month)."""
    today = date.today()
    return today.replace(year=today.year - years, day=1).isoformat()


def login(http: httpx.Client, email: str) -> dict[str, str]:
    """Bearer headers for ``email`` (password :data:`PASSWORD`)."""
    answer = http.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['accessToken']}"}


@dataclass(frozen=True)
class Family:
    parent_id: str
    parent: dict[str, str]
    """The parent's bearer headers."""
    child: dict[str, Any]
    """``POST /parents/children``'s answer plus the ``birthDate`` sent."""
    kid: dict[str, str]
    """The child's bearer headers."""


def register_family(
    http: httpx.Client, scopes: list[str], child_name: str = "Kit", child_age: int = 8
) -> Family:
    """Register an adult, who creates a linked child with ``scopes``; both log in."""
    email = f"parent-{uuid.uuid4().hex[:10]}@example.test"
    registered = http.post(
        "/auth/register",
        json={
            "email": email,
            "password": PASSWORD,
            "displayName": "Parent",
            "birthDate": years_ago(40),
            "country": "US",
        },
    )
    assert registered.status_code == 201, registered.text
    parent = login(http, email)
    birth = years_ago(child_age)
    created = http.post(
        "/parents/children",
        json={
            "displayName": child_name,
            "birthDate": birth,
            "password": PASSWORD,
            "scopes": scopes,
        },
        headers=parent,
    )
    assert created.status_code == 201, created.text
    child: dict[str, Any] = {**created.json(), "birthDate": birth}
    return Family(
        parent_id=registered.json()["id"],
        parent=parent,
        child=child,
        kid=login(http, child["email"]),
    )
