"""Writing a new request: the service's hot path, one citizen's form at a time.

A submission writes its request under the year's next gap-free number, the applicant, a
history line when staff entered it, and its event, with the chassis's numbered write
(`services.common.numbering.Numbering.write`): on PostgreSQL one statement that takes the
number and holds the year's counter row for that statement only, elsewhere the unit of
work's transaction. Either way the event is the unit of work's, completed with the number
by the write; docs/ppid.md has the measurements behind the one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.common.events import Event
from services.common.numbering import ChildRow, NumberedRow
from services.common.runtime import Runtime
from services.ppid.domain import REQUEST_PREFIX
from services.ppid.models import NUMBERS, Applicant, Request, RequestHistory

_REQUESTS = Request.__table__
_APPLICANTS = Applicant.__table__
_HISTORY = RequestHistory.__table__


def store_submission(
    rt: Runtime,
    *,
    request_row: dict[str, Any],
    applicant_row: dict[str, Any],
    history_row: dict[str, Any] | None,
    event: Event,
    extra: Sequence[ChildRow] = (),
) -> str:
    """Write the submission and its event; return its number, `PPID-<year>-<sequence>`.

    `event` has the subject `requests/` and an empty `data.number`: the write completes
    both with the number it takes. `extra` are further rows of the request (the applicant's
    receipt mail), written in the same statement.
    """
    children = [ChildRow(_APPLICANTS, applicant_row, "request_id")]
    if history_row is not None:
        children.append(ChildRow(_HISTORY, history_row, "request_id"))
    children.extend(extra)
    with rt.uow() as uow:
        numbered = NUMBERS.write(
            uow, REQUEST_PREFIX, request_row["year"], NumberedRow(_REQUESTS, request_row),
            children=children, event=event,
        )
        uow.commit()
    return numbered.number
