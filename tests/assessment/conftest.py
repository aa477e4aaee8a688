"""Fixtures the assessment tests share: the shipped さいたま市 FY2026 configuration and its
installment schedule."""

from __future__ import annotations

import pytest

from jobs.assessment import installments as inst
from jobs.common import config


@pytest.fixture(scope="module")
def cfg():
    return config.load("111007", 2026)


@pytest.fixture(scope="module")
def schedule(cfg):
    return inst.Schedule.from_config(cfg)
