"""Names of Jingdezhen (景德镇): districts, streets, units and institutions that read like the real ones."""

from __future__ import annotations

import random

CITY = "景德镇市"
PLATE_PREFIX = "赣H"  # Jingdezhen's prefix in Jiangxi (赣)

ZHUSHAN = "珠山区"
CHANGJIANG = "昌江区"
FULIANG = "浮梁县"
LEPING = "乐平市"
DISTRICTS = (ZHUSHAN, CHANGJIANG, FULIANG, LEPING)
# Administrative division codes (行政区划代码, GB/T 2260) of the city and its county-level divisions.
CITY_DIVISION = "360200"
DIVISION_CODES: dict[str, str] = {ZHUSHAN: "360203", CHANGJIANG: "360202", FULIANG: "360222", LEPING: "360281"}

# Sub-district offices (街道办事处 / 镇) that run the community service centres.
SUBDISTRICTS: dict[str, tuple[str, ...]] = {
    ZHUSHAN: ("珠山街道", "新村街道", "里村街道", "石狮埠街道", "周路口街道", "新厂街道", "太白园街道", "昌河街道"),
    CHANGJIANG: ("西郊街道", "新枫街道", "鲇鱼山镇", "丽阳镇"),
    FULIANG: ("浮梁镇", "洪源镇", "湘湖镇"),
    LEPING: ("洎阳街道", "塔山街道", "乐港镇"),
}
COMMUNITIES = (
    "莲花塘", "十八桥", "东风", "建国", "陶阳", "光明", "苏家坞", "枫树山", "朝阳", "瓷都", "人民", "新华",
    "曙光", "胜利", "红旗", "沿江", "南山", "北山", "西岭", "东岭", "青塘", "白鹭", "观音阁", "三闾庙",
    "御窑", "彭家弄", "斗富弄", "龙珠阁", "昌南", "湖田", "宇宙", "为民", "梨树园", "金岭", "戴家弄", "老厂",
)  # fmt: skip

# Street names for the grid: east-west (rows) and north-south (columns).
EAST_WEST_STREETS = (
    "迎宾大道", "昌南大道", "新厂东路", "新厂西路", "朝阳路", "浙江路", "珠山中路", "珠山东路", "曙光路", "陶阳南路",
    "戴家弄路", "通站路", "瓷都大道", "紫晶路", "新风路", "里市渡路", "昌江大道", "金岭路", "枫树山路", "梧桐大道",
    "湖田路", "西郊路", "新华路", "南河路",
)  # fmt: skip
NORTH_SOUTH_STREETS = (
    "沿江西路", "西市路", "昌河大道", "沿江东路", "中华北路", "中山北路", "广场北路", "莲社北路", "胜利路", "建国路",
    "人民路", "东郊路", "景东大道", "高新大道", "金岭大道", "陶瓷大道", "解放路", "为民路", "新风北路", "观音阁路",
    "东岭路", "长虹大道", "凤凰路", "环城东路",
)  # fmt: skip
DIAGONAL_STREET = "瓷都大道东段"

# Government departments (局/委/院...) found at city level and in each district.
DEPARTMENTS = (
    "财政局", "教育局", "公安局", "人力资源和社会保障局", "自然资源和规划局", "生态环境局", "住房和城乡建设局",
    "交通运输局", "水利局", "农业农村局", "商务局", "文化广电新闻出版旅游局", "卫生健康委员会", "退役军人事务局",
    "应急管理局", "审计局", "市场监督管理局", "统计局", "医疗保障局", "城市管理局", "机关事务管理局",
    "发展和改革委员会", "工业和信息化局", "民政局", "司法局", "科学技术局", "林业局", "人民法院", "人民检察院",
    "信访局", "政务服务管理局", "人民政府办公室", "行政审批局", "乡村振兴局", "体育局", "国有资产监督管理委员会",
)  # fmt: skip
CITY_ONLY_DEPARTMENTS = ("陶瓷工业发展局", "陶瓷文化旅游发展中心", "住房公积金管理中心", "公共资源交易中心")

PUBLIC_INSTITUTIONS = (
    "疾病预防控制中心", "档案馆", "不动产登记中心", "社会福利院", "产品质量监督检验所", "广播电视台",
    "城市规划设计研究院", "农业科学研究所", "园林管理处", "环境监测站", "救助管理站", "就业创业服务中心",
    "社会保险事业管理中心", "政务服务中心", "市政工程管理处", "公路事业发展中心", "水文站", "气象台",
    "地方志研究室", "青少年宫", "老干部活动中心", "殡葬管理所", "防汛抗旱指挥部办公室", "科技情报研究所",
)  # fmt: skip
CITY_PUBLIC_INSTITUTIONS = ("陶瓷研究所", "陶瓷产品质量监督检验中心", "陶瓷文化研究院", "古窑民俗博览区管理处")

UNIVERSITIES = (
    "景德镇陶瓷大学",
    "景德镇学院",
    "景德镇陶瓷职业技术学院",
    "江西陶瓷工艺美术职业技术学院",
    "景德镇市高级技工学校",
)
CHINESE_ORDINALS = (
    "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二", "十三", "十四", "十五", "十六",
    "十七", "十八", "十九", "二十", "二十一", "二十二", "二十三", "二十四", "二十五",
)  # fmt: skip
PRIMARY_SCHOOL_PLACES = (
    "珠山", "瓷都", "昌江", "浙江路", "曙光", "新华", "朝阳", "东方", "十八桥", "竟成", "莲花塘", "枫树山",
    "紫晶", "景东", "陶阳", "里村", "新村", "西郊", "丽阳", "南河", "湖田", "金岭", "人民", "实验",
)  # fmt: skip

HOSPITALS = (
    "景德镇市第一人民医院",
    "景德镇市第二人民医院",
    "景德镇市第三人民医院",
    "景德镇市第五人民医院",
    "景德镇市中医医院",
    "景德镇市妇幼保健院",
    "景德镇市传染病医院",
    "景德镇市精神病医院",
    "景德镇市口腔医院",
)
DISTRICT_HOSPITALS = ("人民医院", "中医院", "妇幼保健院")

VENUES = (
    "景德镇市体育中心",
    "景德镇市图书馆",
    "中国陶瓷博物馆",
    "景德镇市博物馆",
    "景德镇市文化馆",
    "景德镇市群众艺术馆",
    "景德镇市游泳馆",
    "景德镇大剧院",
    "景德镇市科技馆",
    "景德镇御窑博物馆",
    "景德镇市青少年活动中心",
    "景德镇市会展中心",
)
DISTRICT_VENUES = ("全民健身中心", "图书馆", "文化馆", "体育馆", "博物馆")

SERVICE_COMPANY = "景德镇市公务出行服务有限公司"
RENTAL_COMPANY = "景德镇瓷都汽车租赁有限公司"

# A unit: its name, the district it belongs to (None: city level) and who owns it when not itself.
Candidate = tuple[str, str | None, str | None]


def agencies(rng: random.Random) -> list[Candidate]:
    """City departments first (the ones everyone knows), then district ones, in a seeded order."""
    known = ("财政局", "机关事务管理局", "教育局", "公安局")
    first: list[Candidate] = [(f"{CITY}{d}", None, None) for d in known]
    rest: list[Candidate] = [(f"{CITY}{d}", None, None) for d in DEPARTMENTS + CITY_ONLY_DEPARTMENTS if d not in known]
    rest += [(f"{district}{d}", district, None) for district in DISTRICTS for d in DEPARTMENTS]
    rng.shuffle(rest)
    return first + rest


def public_institutions(rng: random.Random) -> list[Candidate]:
    known = ("疾病预防控制中心", "陶瓷研究所", "档案馆")
    first: list[Candidate] = [(f"{CITY}{p}", None, None) for p in known]
    rest: list[Candidate] = [
        (f"{CITY}{p}", None, None) for p in PUBLIC_INSTITUTIONS + CITY_PUBLIC_INSTITUTIONS if p not in known
    ]
    rest += [(f"{district}{p}", district, None) for district in DISTRICTS for p in PUBLIC_INSTITUTIONS]
    rng.shuffle(rest)
    return first + rest


def schools(rng: random.Random) -> list[Candidate]:
    first: list[Candidate] = [(f"{CITY}第一中学", None, None), ("景德镇陶瓷大学", None, None)]
    rest: list[Candidate] = [(f"{CITY}第{n}中学", None, None) for n in CHINESE_ORDINALS[1:20]]
    rest += [(u, None, None) for u in UNIVERSITIES[1:]]
    rest += [(f"{CITY}实验学校", None, None), (f"{CITY}第一幼儿园", None, None), (f"{CITY}特殊教育学校", None, None)]
    rest += [(f"{FULIANG}第{n}中学", FULIANG, None) for n in CHINESE_ORDINALS[:3]]
    rest += [(f"{LEPING}第{n}中学", LEPING, None) for n in CHINESE_ORDINALS[:5]]
    rest += [(f"{district}{place}小学", district, None) for district in DISTRICTS for place in PRIMARY_SCHOOL_PLACES]
    rest += [(f"{district}第{n}幼儿园", district, None) for district in DISTRICTS for n in CHINESE_ORDINALS[:6]]
    rng.shuffle(rest)
    return first + rest


def hospitals(rng: random.Random) -> list[Candidate]:
    first: list[Candidate] = [(HOSPITALS[0], None, None), (f"{ZHUSHAN}人民医院", ZHUSHAN, None)]
    rest: list[Candidate] = [(h, None, None) for h in HOSPITALS[1:]]
    rest += [(f"{d}{h}", d, None) for d in DISTRICTS for h in DISTRICT_HOSPITALS if (d, h) != (ZHUSHAN, "人民医院")]
    # Community health centres are run by the district health commission.
    rest += [
        (f"{district}{sub}社区卫生服务中心", district, f"{district}卫生健康委员会")
        for district, subs in SUBDISTRICTS.items()
        for sub in subs
    ]
    rng.shuffle(rest)
    return first + rest


def communities(rng: random.Random) -> list[Candidate]:
    """Community service centres (社区党群服务中心), owned by their sub-district office."""
    rest: list[Candidate] = []
    for district, subs in SUBDISTRICTS.items():
        for sub in subs:
            office = f"{district}{sub}办事处" if sub.endswith("街道") else f"{district}{sub}人民政府"
            rest += [(f"{sub}{c}社区党群服务中心", district, office) for c in COMMUNITIES]
    rng.shuffle(rest)
    return rest


def venues(rng: random.Random) -> list[Candidate]:
    first: list[Candidate] = [(VENUES[0], None, None), (VENUES[2], None, None)]
    rest: list[Candidate] = [(v, None, None) for v in VENUES if v not in (VENUES[0], VENUES[2])]
    rest += [(f"{d}{v}", d, None) for d in DISTRICTS for v in DISTRICT_VENUES]
    rng.shuffle(rest)
    return first + rest


# Drivers' names: the commonest surnames and given-name characters.
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文斌辉红波宁鹏飞峰俊"
