"""A second factor for staff (issue 13): a TOTP secret (RFC 6238), its recovery codes, and the
pending sign-ins that wait for a code.

The secret is kept encrypted (``app.services.accounts.totp``): a copy of the database alone makes
no codes. ``last_time_step`` is the 30-second step of the last code accepted, so the same code
(or an older one) is refused the second time. Recovery codes are stored as salted SHA-256 only,
each used once. A ``TwoFactorChallenge`` is the server's half of a sign-in between the password
and the code: the browser holds only its id and a random token, and the tries are counted
here, where replaying an older cookie cannot reset them.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.models.base import Base
from app.models.enums import check_in


class ChallengePurpose(StrEnum):
    """What the pending sign-in waits for."""

    CODE = "code"  # a code from the enrolled authenticator, or a recovery code
    ENROL = "enrol"  # the second factor is required and not set up yet: enrolment first


class TwoFactor(Base):
    """A user's authenticator. ``enabled_at`` empty: enrolment started, its first code not yet
    confirmed, so it is not asked at sign-in."""

    __tablename__ = "two_factor"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), unique=True)
    secret: Mapped[str] = mapped_column(String(255))  # Fernet token of the base32 secret
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    enabled_at: Mapped[datetime | None]
    last_time_step: Mapped[int | None] = mapped_column(BigInteger)  # unix time // 30 of the last code accepted

    def __repr__(self) -> str:  # never the secret: reprs end up in logs
        return f"<TwoFactor user={self.user_id} enabled={self.enabled_at is not None}>"


class RecoveryCode(Base):
    """One of the ten codes shown once at enrolment, for a lost authenticator."""

    __tablename__ = "two_factor_recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    salt: Mapped[str] = mapped_column(String(32))  # 16 random bytes, hex
    code_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of salt and code, hex
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    used_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<RecoveryCode {self.id} user={self.user_id}>"


class TwoFactorChallenge(Base):
    """A sign-in between its first factor (password or identity service) and its second."""

    __tablename__ = "two_factor_challenge"
    __table_args__ = (check_in("purpose", ChallengePurpose),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the token in the cookie
    purpose: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")  # codes tried
    ended_at: Mapped[datetime | None]  # signed in, replaced by a newer one, or reset by an admin
    signed_in_at: Mapped[datetime | None]  # a right code ended it (the back-off counts from the last one)

    def __repr__(self) -> str:
        return f"<TwoFactorChallenge {self.id} user={self.user_id} {self.purpose}>"
