"""Record imports run off the web request: the queue the scheduler reads, and each run's progress."""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base
from app.models.enums import check_in


class ImportState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"  # the whole file imported
    REFUSED = "refused"  # the file had problems: nothing imported, the report says which
    FAILED = "failed"  # an error on our side: nothing imported, ``error`` says what


class ImportRun(Base):
    """One uploaded file a department asked to import in the background.

    The page stores the upload under ``UPLOAD_DIR/imports/<stored_name>`` and adds a queued row;
    the scheduler runs it (``admin.import_runs.run_queued_import``): the check of every row, its
    progress committed as it goes (``rows_read``, ``error_count``), then the import in one
    transaction that also sets the outcome, so a run is whole or nothing as an upload in the
    request is. ``stored_name`` is NULL once the file is deleted (after the run, whatever its
    outcome). ``errors`` keeps the report ([row, column, message], at most IMPORT_MAX_ERRORS and
    the line that says the check stopped), in the language of ``locale``, the uploader's.
    ``attempts`` counts the starts: a run whose process died is started again, a few times only.
    """

    __tablename__ = "import_run"
    __table_args__ = (check_in("state", ImportState), Index("ix_import_run_department_id_id", "department_id", "id"),
                      Index("ix_import_run_state", "state"))

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    file_name: Mapped[str] = mapped_column(String(200))  # as uploaded, for display only
    stored_name: Mapped[str | None] = mapped_column(String(80))
    size_bytes: Mapped[int] = mapped_column(default=0, server_default="0")
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN", server_default="zh_CN")
    state: Mapped[str] = mapped_column(String(10), default=ImportState.QUEUED)
    requested_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]  # the last progress committed
    host: Mapped[str | None] = mapped_column(String(120))
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    rows_read: Mapped[int] = mapped_column(default=0, server_default="0")
    imported: Mapped[int] = mapped_column(default=0, server_default="0")
    corrected: Mapped[int] = mapped_column(default=0, server_default="0")
    error_count: Mapped[int] = mapped_column(default=0, server_default="0")
    errors: Mapped[list | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)

    @property
    def finished(self) -> bool:
        return self.state in (ImportState.DONE, ImportState.REFUSED, ImportState.FAILED)
