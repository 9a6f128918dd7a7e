"""How a platform turns the identity provider's sign-in on (``OIDC_`` environment variables), and
how the claims it names are read (``read_claims``: no provider, no database)."""
from __future__ import annotations

import pytest

from app.errors import Forbidden
from app.models.enums import BindingCapacity, SubjectKind
from app.services.oidc import read_claims
from config import Config, ConfigError, load_config
from tests.oidc.conftest import ACCOUNTS

_OIDC_ENV = ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_SCOPES", "OIDC_REDIRECT_URI",
             "OIDC_PROVIDER_LABEL", "OIDC_CLAIMS", "OIDC_VERIFIED_VALUES", "OIDC_ROLES")
DEFAULTS = {"OIDC_CLAIMS": Config.OIDC_CLAIMS, "OIDC_VERIFIED_VALUES": Config.OIDC_VERIFIED_VALUES,
            "OIDC_ROLES": Config.OIDC_ROLES}


@pytest.fixture(autouse=True)
def _no_oidc_environment(monkeypatch):
    for key in _OIDC_ENV:
        monkeypatch.delenv(key, raising=False)


def test_off_unless_an_issuer_is_set():
    assert load_config("testing")["OIDC_ISSUER"] is None


def test_the_environment_turns_it_on(monkeypatch):
    monkeypatch.setenv("OIDC_ISSUER", "https://id.example.gov.cn")
    monkeypatch.setenv("OIDC_CLIENT_ID", "casedesk")
    monkeypatch.setenv("OIDC_CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("OIDC_PROVIDER_LABEL", "电子营业执照")
    monkeypatch.setenv("OIDC_CLAIMS", '{"id_number": "certNo", "uscc": "creditCode"}')
    monkeypatch.setenv("OIDC_VERIFIED_VALUES", '["1"]')
    settings = load_config("testing")
    assert (settings["OIDC_ISSUER"], settings["OIDC_CLIENT_ID"], settings["OIDC_CLIENT_SECRET"]) == (
        "https://id.example.gov.cn", "casedesk", "s3cret")
    assert settings["OIDC_PROVIDER_LABEL"] == "电子营业执照"
    assert settings["OIDC_CLAIMS"]["id_number"] == "certNo" and settings["OIDC_CLAIMS"]["uscc"] == "creditCode"
    assert settings["OIDC_CLAIMS"]["name"] == "name"  # the others keep their defaults
    assert settings["OIDC_VERIFIED_VALUES"] == ["1"]


def test_an_issuer_needs_its_client(monkeypatch):
    monkeypatch.setenv("OIDC_ISSUER", "https://id.example.gov.cn")
    monkeypatch.setenv("OIDC_CLIENT_ID", "casedesk")
    with pytest.raises(ConfigError, match="OIDC_CLIENT_SECRET"):
        load_config("testing")


def test_production_wants_https(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/casedesk")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://credit.example.gov.cn")
    monkeypatch.setenv("OIDC_ISSUER", "http://id.example.gov.cn")
    monkeypatch.setenv("OIDC_CLIENT_ID", "casedesk")
    monkeypatch.setenv("OIDC_CLIENT_SECRET", "s3cret")
    with pytest.raises(ConfigError, match="https"):
        load_config("production")
    monkeypatch.setenv("OIDC_ISSUER", "https://id.example.gov.cn")
    assert load_config("production")["OIDC_ISSUER"] == "https://id.example.gov.cn"


def test_claims_that_are_not_json_are_refused(monkeypatch):
    monkeypatch.setenv("OIDC_ROLES", "legal_representative")
    with pytest.raises(ConfigError, match="JSON"):
        load_config("testing")


@pytest.mark.parametrize(("key", "value"), [("OIDC_ROLES", '["agent"]'), ("OIDC_VERIFIED_VALUES", "true"),
                                            ("OIDC_CLAIMS", '["name"]')])
def test_settings_of_the_wrong_shape_are_refused(monkeypatch, key, value):
    monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=key):
        load_config("testing")


def test_claims_are_read_under_the_names_the_platform_gives():
    config = {**DEFAULTS, "OIDC_CLAIMS": {**Config.OIDC_CLAIMS, "id_number": "certNo", "verified": "realName"},
              "OIDC_VERIFIED_VALUES": ["1"]}
    person = ACCOUNTS["person"]
    identity = read_claims({"sub": "p-1", "name": person["name"], "certNo": person["id_number"], "realName": "1"},
                           config)
    assert (identity.identifier.kind, identity.identifier.value, identity.subject_name, identity.capacity) == (
        SubjectKind.NATURAL, person["id_number"], person["name"], BindingCapacity.SELF)
    with pytest.raises(Forbidden):  # the default name is not read any more
        read_claims({"sub": "p-1", "name": person["name"], "id_number": person["id_number"], "realName": "1"}, config)
    with pytest.raises(Forbidden):  # nor the default verified values
        read_claims({"sub": "p-1", "name": person["name"], "certNo": person["id_number"], "realName": True}, config)


def test_a_company_claim_wins_over_the_person_s_own_number():
    rep = ACCOUNTS["rep"]
    identity = read_claims({"sub": "r", **rep}, DEFAULTS)
    assert (identity.identifier.value, identity.subject_name, identity.person_name, identity.capacity) == (
        rep["uscc"], rep["org_name"], rep["name"], BindingCapacity.LEGAL_REPRESENTATIVE)


def test_the_platform_maps_role_values_to_capacities():
    config = {**DEFAULTS, "OIDC_ROLES": {"法定代表人": "legal_representative", "经办人": "agent"}}
    rep = {**ACCOUNTS["rep"], "sub": "r"}
    assert read_claims({**rep, "role": "经办人"}, config).capacity == BindingCapacity.AGENT
    with pytest.raises(Forbidden):
        read_claims(rep, config)  # "legal_representative" is not a value this platform accepts


@pytest.mark.parametrize(("change", "says"), [
    ({"sub": ""}, "sub"),
    ({"name": None}, "name"),
    ({"name": "名" * 201}, "name"),
    ({"id_number": None}, "uscc / id_number"),
    ({"id_number": "110105198506150015"}, None),  # a wrong check digit
    ({"id_number": ACCOUNTS["rep"]["uscc"]}, None),  # a company's code where a person's number belongs
])
def test_incomplete_or_invalid_claims_are_refused(change, says):
    claims = {"sub": "p", **ACCOUNTS["person"], **change}
    with pytest.raises(Forbidden) as refusal:
        read_claims(claims, DEFAULTS)
    if says:
        assert says in str(refusal.value)


def test_a_company_without_its_name_is_refused():
    with pytest.raises(Forbidden, match="org_name"):
        read_claims({"sub": "r", **ACCOUNTS["rep"], "org_name": " "}, DEFAULTS)
