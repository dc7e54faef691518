"""The organisations a query may touch: every query of a unit's data filters with a Scope."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql


@dataclass(frozen=True, slots=True)
class Scope:
    """The organisations whose data a request may touch: `None` means every organisation.

    Every query of a unit's data filters with `condition()`; a missing item of another unit is then
    indistinguishable from one that does not exist (404, never 403: ids of other units do not leak).
    """

    organisations: frozenset[str] | None

    @property
    def everything(self) -> bool:
        return self.organisations is None

    def allows(self, organisation_id: str) -> bool:
        """Whether data of this organisation is inside the scope."""
        return self.organisations is None or organisation_id in self.organisations

    def condition(self, column: str) -> sql.Composable:
        """An SQL condition limiting `column` (an organisation id column, e.g. "i.organisation_id") to the scope.

        Args:
            column: the column, optionally qualified by a table alias (`alias.column`).
        """
        identifier = sql.Identifier(*column.split("."))
        if self.organisations is None:
            return sql.SQL("TRUE")
        if not self.organisations:
            return sql.SQL("FALSE")
        return sql.SQL("{} = ANY({}::text[])").format(identifier, sql.Literal(sorted(self.organisations)))
