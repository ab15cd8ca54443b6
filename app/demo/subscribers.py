"""A deterministic sample of Zhejiang subscribers, loaded through the CSV import service.

The sample is generated as CSV text and handed to ``import_csv``: the same validation and
set-based INSERT … SELECT as a real import, so the demo never writes one ORM row per
subscriber. The same ``count`` always gives the same numbers, names and fees, so a rerun
with ``--force`` updates the sample instead of adding a second one.
"""
from __future__ import annotations

import csv
import io
import random

from app.catalog.seed import CITIES
from app.notify import inbound
from app.subscribers.csv_import import ImportResult, import_csv

# (city, share of subscribers); the provincial capital carries the most lines.
REGIONS = (("杭州", 34), ("宁波", 20), ("温州", 15), ("嘉兴", 10), ("绍兴", 10), ("湖州", 6), ("金华", 5))
# Most lines are registered in a district of the city (the catalog's tree); a few only at city level.
CITY_LEVEL_SHARE = 0.1

# (services, monthly fee choices in yuan, weight): the usual packages of a mobile + home operator.
PACKAGES = (
    (("mobile_voice", "mobile_data"), ("38", "58", "88", "128"), 45),
    (("mobile_voice", "mobile_data", "broadband"), ("129", "169", "199"), 20),
    (("broadband", "iptv"), ("99", "119.5"), 15),
    (("mobile_voice",), ("8", "18", "29.9"), 10),
    (("mobile_voice", "mobile_data", "broadband", "iptv"), ("199", "239", "299"), 7),
    (("mobile_data",), ("30", "50"), 3),
)

MOBILE_PREFIXES = ("134", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159",
                   "182", "183", "187", "188", "130", "131", "132", "155", "186", "133", "153", "180", "189")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玲红建国文斌浩宇婷雪琳晨阳欣怡子涵一鸣思远嘉"
ENGLISH_NAMES = ("James Miller", "Anna Schmidt", "David Chen", "Maria Garcia", "Tom Baker", "Yuki Tanaka",
                 "Olivia Brown", "Lucas Martin", "Emma Wilson", "Noah Kim")
ENGLISH_SHARE = 0.03     # expatriates and visitors who asked for English notices
OPT_OUT_EVERY = 150      # roughly one subscriber in 150 has replied 退订 …
OPT_OUT_MAX = 40         # … capped: each goes through the real inbound-SMS handler, one by one


def phone_number(index: int) -> str:
    """A distinct, valid mainland mobile number for each index (< 10**8)."""
    prefix = MOBILE_PREFIXES[index % len(MOBILE_PREFIXES)]
    # 7919 is prime to 10**8, so the suffix is a permutation: never a duplicate, never sequential-looking.
    return f"{prefix}{(index * 7919 + 20260101) % 10**8:08d}"


def sample_csv(count: int, seed: int = 2026) -> str:
    rng = random.Random(seed)
    cities = [city for city, _ in REGIONS]
    city_weights = [weight for _, weight in REGIONS]
    package_weights = [weight for *_, weight in PACKAGES]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("phone", "name", "region", "services", "monthly_fee", "language"))
    for index in range(count):
        region = rng.choices(cities, city_weights)[0]
        if rng.random() >= CITY_LEVEL_SHARE:
            region = rng.choice(CITIES[region][2])[0]
        services, fees, _ = rng.choices(PACKAGES, package_weights)[0]
        if rng.random() < ENGLISH_SHARE:
            name, language = rng.choice(ENGLISH_NAMES), "en"
        else:
            name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))
            language = "zh-CN"
        writer.writerow((phone_number(index), name, region, ";".join(services), rng.choice(fees), language))
    return out.getvalue()


def load_sample(count: int) -> tuple[ImportResult, int]:
    """Import ``count`` subscribers; a few then opt out by SMS. Returns (import result, opted out)."""
    result = import_csv(io.StringIO(sample_csv(count)))
    opt_outs = min(OPT_OUT_MAX, count // OPT_OUT_EVERY)
    for index in range(0, opt_outs * OPT_OUT_EVERY, OPT_OUT_EVERY):
        inbound.handle(phone_number(index), "退订", sid=None)
    return result, opt_outs
