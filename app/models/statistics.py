"""Snapshots of the public statistics: the report computed by the scheduler, read by the pages."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class StatisticsSnapshot(Base):
    """One computed report in its published schema (``services.statistics``): the public page
    serves the newest of its schema; the job that writes one keeps the last few."""

    __tablename__ = "statistics_snapshot"
    __table_args__ = (Index("ix_statistics_snapshot_schema_id", "schema", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    generated_at: Mapped[datetime]  # the platform clock when the report was computed
    schema: Mapped[str] = mapped_column(String(40))  # SCHEMA of the body
    body: Mapped[dict] = mapped_column(JSON)  # suppressed_below, months, cases, deadlines
