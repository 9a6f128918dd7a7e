"""Policy version 1: the defaults of DESIGN section 9, with their legal sources.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Migrations are history: this body is frozen here as it was installed. Later policy
changes are new versions, added by admins (or by a later migration), never edits of this one.
"""
from datetime import date, datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SOURCES = (
    "NDRC 信用修复管理办法 (Order 2025 No. 36, in force 2026-04-01); 国办发〔2025〕22号; "
    "上海市社会信用条例 art. 35-38; 征信业管理条例 art. 16, 25, 26; SAMR Order 45 art. 2, 11, 13, 14; "
    "市场监督管理投诉举报处理暂行办法 art. 14, 15"
)

BODY = {
    "record_classes": {
        "minor": {"published": False, "shortest_publicity": "0d", "publicity": "3m", "repairable": True},
        "general": {"published": True, "shortest_publicity": "3m", "publicity": "1y", "repairable": True},
        "serious": {"published": True, "shortest_publicity": "1y", "publicity": "3y", "repairable": True},
    },
    "legacy": {
        "decided_before": "2026-04-01",
        "shortest_publicity": "3m",
        "shortest_publicity_by_sector": {"special_equipment": "1y", "work_safety": "1y", "fire": "1y"},
        "publicity": "3y",
    },
    "never_repairable_sanctions": ["licence_revoked", "business_restricted", "employment_restricted"],
    "publication_deadline": {"wd": 7},
    "retention_after_retirement": "5y",
    # Each workflow's clocks (see workflows/): wd = working days, cd = calendar days.
    "sla": {
        "objection": {
            "accept": {"wd": 2},
            "refer": {"wd": 2},
            "verify": {"wd": 5},
            "verify_limit": {"wd": 10},
            "overall": {"cd": 20},
            "supplement": {"wd": 10},
        },
        "repair": {
            "accept": {"wd": 2},
            "department_opinion": {"wd": 5},
            "overall": {"wd": 10, "extension": 10},
            "supplement": {"wd": 10},
        },
        "complaint": {
            "accept": {"wd": 7},
            "reply": {"cd": 30},
            "reopen_window": {"cd": 15},
        },
    },
    "repair": {
        "bar_after_fraud": "1y",
        # Categories whose repair needs the originating department's opinion first.
        "department_opinion_required": ["serious_dishonesty_list"],
    },
    "reminders": {
        "due_soon_before": {"wd": 1},
        "working_hours": {"start": "09:00", "end": "17:30"},
    },
}

policy = sa.table(
    "policy",
    sa.column("version", sa.Integer),
    sa.column("effective_from", sa.Date),
    sa.column("body", sa.JSON),
    sa.column("note", sa.Text),
    sa.column("source", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def upgrade():
    created = datetime(2026, 11, 25, tzinfo=timezone.utc)
    if op.get_bind().dialect.name == "sqlite":
        created = created.replace(tzinfo=None)  # stored as naive UTC, like every instant on SQLite
    op.bulk_insert(
        policy,
        [
            {
                "version": 1,
                # In force for every computation from the start; the legacy clause covers old decisions.
                "effective_from": date(2000, 1, 1),
                "body": BODY,
                "note": "Defaults of DESIGN section 9",
                "source": SOURCES,
                "created_at": created,
            }
        ],
    )


def downgrade():
    op.execute(policy.delete().where(policy.c.version == 1))
