"""Sign-in attempts (kept to slow guessing down), password-reset links, pending sign-ups."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app import clock
from app.models.base import Base


class SignInAttempt(Base):
    __tablename__ = "sign_in_attempt"
    __table_args__ = (
        Index("ix_sign_in_attempt_username_at", "username", "at"),
        Index("ix_sign_in_attempt_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The name as typed (lower-cased), whether or not such an account exists; e-mail addresses too.
    username: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(45))
    # The SHA-256 of the browser's device cookie when it came with one for this name (issue 13):
    # a device that signed in before has its own back-off, which guessing from elsewhere does not slow.
    device: Mapped[str | None] = mapped_column(String(64))
    succeeded: Mapped[bool]
    at: Mapped[datetime] = mapped_column(default=clock.now)


class PasswordReset(Base):
    """A single-use, expiring link that sets a new password: asked for by the user ("Forgot
    password?", no ``created_by_id``) or issued by an admin.

    Only the SHA-256 of the token is kept. A link that goes by e-mail has no token until its
    mail is sent (issue 13): the dispatcher mints it then, so the outbox never holds one, and a
    second delivery replaces it. A link for an account without an address is shown to the admin
    once. A new link voids the older unused ones.
    """

    __tablename__ = "password_reset"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # empty until minted
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # empty: the user asked
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]


class SignUpRequest(Base):
    """A sign-up waiting for its e-mail link (issue 12): nothing exists until the link is used.

    The form's answer is the same whoever asks, so the account, the subject and the binding are
    made only by the one who can read the mail. Only the SHA-256 of the link's token is kept.
    ``used_at`` is set by one conditional UPDATE, so two uses of one link make one account.
    """

    __tablename__ = "sign_up_request"
    __table_args__ = (
        CheckConstraint("identifier_kind IN ('legal', 'natural')", name="identifier_kind_allowed"),
        # An account made from the request means the request was used.
        CheckConstraint("user_id IS NULL OR used_at IS NOT NULL", name="account_means_used"),
        # The purge of old requests, and "is a request waiting for this address".
        Index("ix_sign_up_request_email_created_at", "email", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))  # lower-cased; the account's user name
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(100))
    identifier_kind: Mapped[str] = mapped_column(String(10))
    identifier: Mapped[str] = mapped_column(String(18))
    claimed_name: Mapped[str] = mapped_column(String(200))  # the subject's name as typed; the binding keeps it
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))  # the account it made

    def __repr__(self) -> str:  # never the address nor the identifier: reprs end up in logs
        return f"<SignUpRequest {self.id}>"
