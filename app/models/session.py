"""Signed-in sessions kept on the server (issue 13), so that signing out, or a change to the
account, really ends them.

The browser's cookie carries only a random session id; the row keeps its SHA-256, so a copy of
the database opens no session. A session lives while it is not ended, not idle for longer than
``SESSION_IDLE_TIMEOUT`` and younger than ``SESSION_ABSOLUTE_LIFETIME`` (``expires_at``): every
request checks the row, so neither a copied cookie nor a re-signed one outlives it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import clock
from app.models.base import Base
from app.models.org import User


class UserSession(Base):
    __tablename__ = "user_session"
    __table_args__ = (
        # "The user's live sessions": to list them, and to end them all in one UPDATE.
        Index("ix_user_session_user_id_ended_at", "user_id", "ended_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the cookie's session id
    # How the user proved who it is: "password", "totp" (a second factor), "oidc" (an identity provider).
    strength: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    last_seen_at: Mapped[datetime] = mapped_column(default=clock.now)  # written at most once a minute
    expires_at: Mapped[datetime]  # created_at + the absolute lifetime in force at sign-in
    # The network the session came from, coarse (an IPv4 /24, an IPv6 /48): enough to recognise
    # "that was not me", not a personal address to keep.
    address: Mapped[str] = mapped_column(String(45))
    user_agent: Mapped[str] = mapped_column(String(200))
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(40))

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<UserSession {self.id} user={self.user_id}>"
