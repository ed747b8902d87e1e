"""The distiller's accounts: several API keys side by side, a blocked one retired and replaced.

A provider that blocks an account answers its requests with HTTP 403 (the client's
`PermissionDeniedError`). The collector then puts that request back in its queue, retires the
account, and carries on with the others, or with a fresh spare key when the settings name one.
Records already written stay written, so a rotation loses nothing and asks nothing twice. When
every account is blocked the collection stops, and says so, with what it had collected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import openai


@dataclass
class Account:
    """One of the distiller's API accounts: the variable holding its key, its client, what it got."""

    env: str
    client: openai.AsyncOpenAI
    records: int = 0             # records collected through it
    blocked: str | None = None   # the provider's message when it was blocked


@dataclass
class KeyRing:
    """The accounts in use (worker n uses account n mod their number) and the spares not yet used."""

    make_client: Callable[[str], openai.AsyncOpenAI]   # env name -> client with that key
    active: list[Account] = field(default_factory=list)
    spares: list[str] = field(default_factory=list)
    retired: list[Account] = field(default_factory=list)

    @classmethod
    def open(cls, envs: list[str], spares: list[str], make_client: Callable[[str], openai.AsyncOpenAI]) -> "KeyRing":
        if not envs:
            raise ValueError("a collection needs at least one API key")
        return cls(make_client, [Account(env, make_client(env)) for env in envs], list(spares))

    def for_worker(self, number: int) -> Account | None:
        """The account worker `number` asks through; None when every account is blocked."""
        return self.active[number % len(self.active)] if self.active else None

    def retire(self, account: Account, reason: str) -> None:
        """The provider blocked `account`: stop using it, and bring in a spare if one is left.
        (Several workers may report the same block: only the first one counts.)"""
        if account not in self.active:
            return
        account.blocked = reason
        self.active.remove(account)
        self.retired.append(account)
        if self.spares:
            env = self.spares.pop(0)
            self.active.append(Account(env, self.make_client(env)))

    @property
    def accounts(self) -> list[Account]:
        return [*self.retired, *self.active]

    def summary(self) -> list[dict]:
        """Per account, in the order used: its key's variable, records collected, and why it was blocked."""
        return [{"key_env": a.env, "records": a.records, "blocked": a.blocked} for a in self.accounts]

    async def close(self) -> None:
        for account in self.accounts:
            await account.client.close()
