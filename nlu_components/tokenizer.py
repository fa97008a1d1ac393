"""One tokenizer for English, Simplified/Traditional Chinese and the mix of both.

Rasa's JiebaTokenizer is the only built-in tokenizer that segments Chinese, but
on English or mixed text it returns every space as a token, so every window
feature (LexicalSyntacticFeaturizer, DIET's CRF) sees blanks instead of the
neighbouring words. It is also case-sensitive, so "Pay" and "pay" get different
prefix/suffix features, and Traditional characters (還款, 帳單) share nothing
with their Simplified forms. This subclass fixes those three things and teaches
Jieba the card-servicing words it splits badly (它把"我下周五"切成"我下/周五").

Every normalisation maps one character to one character, so token offsets still
point into the original text and entity values come back exactly as typed.
"""

from __future__ import annotations

import logging
import unicodedata
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

# Traditional -> Simplified for the characters cardholders actually type about
# cards, bills and money: unambiguous one-to-one pairs only ("還还" = 還 -> 还).
_PAIRS_TEXT = """
還还 帳账 賬账 單单 謝谢 說说 話话 請请 問问 麼么 這这 個个 們们 會会 嗎吗
錢钱 費费 額额 貸贷 銀银 轉转 幫帮 號号 時时 間间 後后 經经 歷历 業业 務务
幾几 應应 為为 與与 沒没 關关 係系 於于 當当 對对 無无 準准 確确 認认 證证
實实 現现 發发 給给 筆笔 戶户 碼码 電电 機机 結结 協协 減减 違违 約约 滯滞
納纳 續续 優优 貨货 買买 賣卖 錯错 誤误 盜盗 騙骗 訂订 簡简 訊讯 級级 員员
療疗 醫医 裏里 裡里 紀纪 錄录 過过 題题 讓让 難难 壓压 負负 擔担 資资 職职
場场 廠厂 營营 虧亏 閉闭 離离 親亲 傷伤 車车 禍祸 災灾 斷断 繳缴 攤摊 張张
樣样 週周 禮礼 點点 鐘钟 東东 塊块 億亿 萬万 兩两 參参 貳贰 圓圆 價价 總总
計计 數数 據据 網网 頁页 鏈链 綁绑 動动 餘余 歡欢 見见 聯联 絡络 繫系 專专
線线 聽听 講讲 語语 體体 國国 際际 處处 辦办 開开 啟启 別别 擾扰 煩烦 騷骚
條条 則则 罰罚 調调 遲迟 寬宽 債债 舊旧 邊边 誰谁 議议 訴诉 訟讼 師师 權权
備备 夠够 掛挂 撥拨 來来 該该 須须 歲岁 齡龄 學学 習习 產产 紅红 詢询 閱阅
記记 臨临 區区 陽阳 農农 臺台 劃划 標标 雖虽 喚唤 釐厘 懷怀 歸归 屬属 齊齐
憑凭 擬拟 設设 卻却 厲厉 邏逻 輯辑 蘋苹 視视 聞闻 狀状 況况 報报 險险 緊紧
頭头 換换 盡尽 窮穷 補补 濟济 領领 長长 門门 藥药 護护 殘残 喪丧 變变 積积
稅税 覺觉 聲声 復复 傳传 項项 選选 識识 驗验 輸输 寫写 兒儿 媽妈 顧顾 願愿
損损 賠赔 償偿 滿满 導导 嚴严 態态 從从 兌兑 獲获 誠诚 懇恳 幹干 穩稳 帶带
進进 達达 連连 運运 遠远 適适 郵邮 銷销 鎖锁 隨随 雙双 預预 顯显 風风 飯饭
馬马 驚惊 嚇吓 爭争 貼贴 鈔钞 獎奖 漲涨 貴贵 賺赚 緩缓 纔才 幣币 氣气 愛爱
麵面 鐵铁 鬧闹 隊队 陰阴 靈灵 順顺
"""
_PAIRS = _PAIRS_TEXT.split()
_TO_SIMPLIFIED = str.maketrans({pair[0]: pair[1] for pair in _PAIRS})

# Words Jieba's general dictionary lacks or segments wrongly in this domain.
_DOMAIN_WORDS_TEXT = """
下周一 下周二 下周三 下周四 下周五 下周六 下周日 下周末 下星期 下星期一
下星期二 下星期三 下星期四 下星期五 下星期六 下星期天 下礼拜 这周五
本周五 这周六 下个月 下下周 月底 月初 月中 月末 年底 发工资 发薪日
最低还款 最低还款额 还款日 最后还款日 到期还款日 账单日 账单分期 消费分期
现金分期 分期付款 手续费 违约金 滞纳金 年费 利息 转人工 人工客服 真人
机器人 结清 一次性 协商还款 个性化分期 停息挂账 逾期 减免 退订 还不上
还不起 盗刷 失业 被裁 裁员 住院 生意 破产 尾号 后四位 还清
欠款 微信 云闪付 网银 年化 年化利率
"""
DOMAIN_WORDS = _DOMAIN_WORDS_TEXT.split()
# Dictionary words that swallow a number's unit: "一万分12期" is 一万 / 分 / 12期 here.
NOT_WORDS = ("万分", "千分")

# Sentence punctuation carries no meaning here and is never the edge of an entity
# ("$", "¥", "+", "-", "/" and brackets are kept: they belong to amounts, phones, dates).
_DROPPED = set(",.!?;:、，。！？；：…~～\"'“”‘’`*#")


def normalise(text: str) -> str:
    """Full-width to ASCII, Traditional to Simplified; same length as `text`."""
    chars = []
    for char in text:
        folded = unicodedata.normalize("NFKC", char)
        chars.append(folded if len(folded) == 1 else char)
    return "".join(chars).translate(_TO_SIMPLIFIED)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class BilingualTokenizer(JiebaTokenizer):
    """JiebaTokenizer without blank or punctuation tokens, lower-cased and normalised."""

    _dictionary_ready = False

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # hmm: Jieba's HMM guesses unknown words and glues a number to the next
        # character ("2千了" -> "2/千了", "15号发" -> "15/号发"), which cuts through
        # entity spans; the dictionary alone segments this domain predictably.
        return {**JiebaTokenizer.get_default_config(), "domain_words": True, "hmm": False}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self._config.get("domain_words", True):
            self._add_domain_words()

    @classmethod
    def _add_domain_words(cls) -> None:
        if cls._dictionary_ready:
            return
        import jieba

        jieba.setLogLevel(logging.WARNING)
        for word in DOMAIN_WORDS:
            jieba.add_word(word)
        for word in NOT_WORDS:
            jieba.del_word(word)
        cls._dictionary_ready = True

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        import jieba

        text = normalise(message.get(attribute))
        tokens = [
            Token(word.lower(), start)
            for word, start, _end in jieba.tokenize(text, HMM=bool(self._config.get("hmm", False)))
            if not word.isspace() and not all(char in _DROPPED for char in word)
        ]
        return self._apply_token_pattern(tokens)
