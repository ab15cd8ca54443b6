"""The catalog the product ships: its service codes and Zhejiang's region tree.

Used by migration 0018 (which seeds a database once) and by the demo and the tests. Region codes
are the short names the product has always stored ("杭州"); districts carry their full name
("西湖区"), which is unique within the province.
"""
from __future__ import annotations

from app.service_names import SERVICE_NAMES

# Policy markers ("全业务") are scope words, not services a subscriber has: they stay out of the catalog.
SERVICE_MARKERS = ("全业务",)

SERVICES = tuple(
    {"code": code, "name_zh": name, "name_en": SERVICE_NAMES["en"][code], "active": True}
    for code, name in SERVICE_NAMES["zh-CN"].items() if code not in SERVICE_MARKERS
)

PROVINCE = {"code": "浙江", "name_zh": "浙江省", "name_en": "Zhejiang", "level": "province", "parent_code": None}

# city code: (name_zh, name_en, ((district, name_en), …)) — the administrative divisions as of 2024.
CITIES = {
    "杭州": ("杭州市", "Hangzhou", (
        ("上城区", "Shangcheng"), ("拱墅区", "Gongshu"), ("西湖区", "Xihu"), ("滨江区", "Binjiang"),
        ("萧山区", "Xiaoshan"), ("余杭区", "Yuhang"), ("临平区", "Linping"), ("钱塘区", "Qiantang"),
        ("富阳区", "Fuyang"), ("临安区", "Lin'an"), ("桐庐县", "Tonglu"), ("淳安县", "Chun'an"),
        ("建德市", "Jiande"))),
    "宁波": ("宁波市", "Ningbo", (
        ("海曙区", "Haishu"), ("江北区", "Jiangbei"), ("北仑区", "Beilun"), ("镇海区", "Zhenhai"),
        ("鄞州区", "Yinzhou"), ("奉化区", "Fenghua"), ("象山县", "Xiangshan"), ("宁海县", "Ninghai"),
        ("余姚市", "Yuyao"), ("慈溪市", "Cixi"))),
    "温州": ("温州市", "Wenzhou", (
        ("鹿城区", "Lucheng"), ("龙湾区", "Longwan"), ("瓯海区", "Ouhai"), ("洞头区", "Dongtou"),
        ("永嘉县", "Yongjia"), ("平阳县", "Pingyang"), ("苍南县", "Cangnan"), ("文成县", "Wencheng"),
        ("泰顺县", "Taishun"), ("瑞安市", "Rui'an"), ("乐清市", "Yueqing"), ("龙港市", "Longgang"))),
    "嘉兴": ("嘉兴市", "Jiaxing", (
        ("南湖区", "Nanhu"), ("秀洲区", "Xiuzhou"), ("嘉善县", "Jiashan"), ("海盐县", "Haiyan"),
        ("海宁市", "Haining"), ("平湖市", "Pinghu"), ("桐乡市", "Tongxiang"))),
    "湖州": ("湖州市", "Huzhou", (
        ("吴兴区", "Wuxing"), ("南浔区", "Nanxun"), ("德清县", "Deqing"), ("长兴县", "Changxing"),
        ("安吉县", "Anji"))),
    "绍兴": ("绍兴市", "Shaoxing", (
        ("越城区", "Yuecheng"), ("柯桥区", "Keqiao"), ("上虞区", "Shangyu"), ("新昌县", "Xinchang"),
        ("诸暨市", "Zhuji"), ("嵊州市", "Shengzhou"))),
    "金华": ("金华市", "Jinhua", (
        ("婺城区", "Wucheng"), ("金东区", "Jindong"), ("武义县", "Wuyi"), ("浦江县", "Pujiang"),
        ("磐安县", "Pan'an"), ("兰溪市", "Lanxi"), ("义乌市", "Yiwu"), ("东阳市", "Dongyang"),
        ("永康市", "Yongkang"))),
    "衢州": ("衢州市", "Quzhou", (
        ("柯城区", "Kecheng"), ("衢江区", "Qujiang"), ("常山县", "Changshan"), ("开化县", "Kaihua"),
        ("龙游县", "Longyou"), ("江山市", "Jiangshan"))),
    "舟山": ("舟山市", "Zhoushan", (
        ("定海区", "Dinghai"), ("普陀区", "Putuo"), ("岱山县", "Daishan"), ("嵊泗县", "Shengsi"))),
    "台州": ("台州市", "Taizhou", (
        ("椒江区", "Jiaojiang"), ("黄岩区", "Huangyan"), ("路桥区", "Luqiao"), ("三门县", "Sanmen"),
        ("天台县", "Tiantai"), ("仙居县", "Xianju"), ("温岭市", "Wenling"), ("临海市", "Linhai"),
        ("玉环市", "Yuhuan"))),
    "丽水": ("丽水市", "Lishui", (
        ("莲都区", "Liandu"), ("青田县", "Qingtian"), ("缙云县", "Jinyun"), ("遂昌县", "Suichang"),
        ("松阳县", "Songyang"), ("云和县", "Yunhe"), ("庆元县", "Qingyuan"), ("景宁畲族自治县", "Jingning"),
        ("龙泉市", "Longquan"))),
}


def _regions() -> tuple[dict, ...]:
    rows = [PROVINCE]
    for city, (name_zh, name_en, districts) in CITIES.items():
        rows.append({"code": city, "name_zh": name_zh, "name_en": name_en, "level": "city", "parent_code": "浙江"})
        rows.extend({"code": district, "name_zh": district, "name_en": district_en, "level": "district",
                     "parent_code": city} for district, district_en in districts)
    return tuple(rows)


# Parents before children, so the rows insert in this order under the foreign key.
REGIONS = _regions()


def seed_statements(services_table, regions_table) -> list:
    """INSERTs of the whole shipped catalog into empty tables (Core, so a migration can run them)."""
    return [services_table.insert().values(list(SERVICES)), regions_table.insert().values(list(REGIONS))]
