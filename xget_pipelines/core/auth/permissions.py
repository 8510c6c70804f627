"""Roles and what each may do: the one permission table of the API (the README prints it).

A role includes every permission of the roles below it: viewer < analyst < operator < admin.

- viewer: read the data and the analytics, list tasks;
- analyst: also create, start and stop their own scrape tasks, supply and correct records, export;
- operator: also manage the X accounts and proxies, every user's tasks, and the watchlist (what XGet
  collects every day, with the shared pool);
- admin: also manage users and their roles, and see the audit log.
"""

from __future__ import annotations

from enum import Enum


class Permission(str, Enum):
    DATA_READ = "data:read"
    ANALYTICS_READ = "analytics:read"
    TASKS_READ = "tasks:read"
    TASKS_WRITE = "tasks:write"
    DATA_WRITE = "data:write"
    ACCOUNTS_READ = "accounts:read"
    ACCOUNTS_WRITE = "accounts:write"
    PROXIES_READ = "proxies:read"
    PROXIES_WRITE = "proxies:write"
    TASKS_ADMIN = "tasks:admin"
    WATCHLIST_WRITE = "watchlist:write"
    USERS_ADMIN = "users:admin"


ROLES = ("viewer", "analyst", "operator", "admin")

_GRANTS: dict[str, set[Permission]] = {
    "viewer": {Permission.DATA_READ, Permission.ANALYTICS_READ, Permission.TASKS_READ},
    "analyst": {Permission.TASKS_WRITE, Permission.DATA_WRITE},
    "operator": {
        Permission.ACCOUNTS_READ,
        Permission.ACCOUNTS_WRITE,
        Permission.PROXIES_READ,
        Permission.PROXIES_WRITE,
        Permission.TASKS_ADMIN,
        Permission.WATCHLIST_WRITE,  # the watchlist spends the shared pool every day: operators decide it
    },
    "admin": {Permission.USERS_ADMIN},
}


def permissions_of(role: str) -> frozenset[Permission]:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    granted: set[Permission] = set()
    for name in ROLES[: ROLES.index(role) + 1]:
        granted |= _GRANTS[name]
    return frozenset(granted)


def allows(role: str, permission: Permission) -> bool:
    return permission in permissions_of(role)


def narrower(role: str, than: str) -> str:
    """The lesser of two roles (an API key never grants more than its user has)."""
    return role if ROLES.index(role) <= ROLES.index(than) else than


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    return role
