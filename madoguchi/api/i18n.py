"""Interface strings of the web chat in the languages the dialogue answers in (ja, en, zh, ko).

The page itself is Japanese; each reply carries the strings that frame it (source heading, as-of date, feedback
buttons…) in the reply's own language, so a resident who writes in English reads English buttons under the
English answer. Keys are the same in every language (a test checks it).
"""
from __future__ import annotations

from typing import Any

DEFAULT_LANGUAGE = "ja"

STRINGS: dict[str, dict[str, str]] = {
    "ja": {
        "page_title": "{tenant} お問い合わせチャット",
        "heading": "{tenant} お問い合わせ窓口",
        "intro": "公式情報をもとに自動でお答えします。確かでないときや、ご希望のときは担当者におつなぎします。",
        "log_label": "会話",
        "input_label": "ご質問",
        "input_hint": "Enter で送信、Shift+Enter で改行（{max_chars}文字まで）",
        "send": "送信",
        "talk_to_person": "担当者と話す",
        "talk_to_person_text": "担当者と話したいです",
        "you": "あなた",
        "assistant": "自動応答",
        "operator": "担当者",
        "system": "お知らせ",
        "sources": "出典",
        "as_of": "{date}時点の情報",
        "choices": "当てはまるものを選んでください",
        "choice_sent": "「{title}」を選びました",
        "helpful": "役に立った",
        "not_helpful": "役に立たなかった",
        "about_answer": "この回答について",
        "feedback_question": "この回答は役に立ちましたか？",
        "feedback_thanks": "ご意見ありがとうございます。",
        "sending": "送信しています…",
        "waiting_operator": "担当者におつなぎしています。返信はこの画面に表示されます。",
        "operator_joined": "担当者から返信がありました。",
        "error_send": "送信できませんでした。通信状況をご確認のうえ、もう一度お試しください。",
        "error_empty": "ご質問を入力してください。",
        "error_too_long": "{max_chars}文字以内で入力してください。",
        "error_server": "申し訳ありません。ただいまお答えできません。しばらくしてからもう一度お試しください。",
        "notice_heading": "保存する情報について",
        "notice": "回答の確認と担当者への引き継ぎのため、この会話の内容を{days}日間保存し、その後消去します。"
                  "お名前・住所・電話番号・マイナンバーなどの個人情報は入力しないでください。",
        "notice_link": "詳しくはこちら（情報の取り扱い）",
        "new_conversation": "新しい会話を始める",
        "erase_conversation": "この会話を消去する",
        "erase_confirm": "この会話の記録を消去します。元に戻せません。よろしいですか？",
        "erased": "会話の記録を消去しました。",
        "not_found_title": "ページが見つかりません",
        "not_found": "お探しの窓口（{tenant}）は見つかりませんでした。アドレスをご確認ください。",
        "back_home": "トップへ戻る",
        "char_count": "{count} / {max_chars}文字",
        "too_long_by": "{over}文字多すぎます。{max_chars}文字以内に短くしてください（まだ送っていません）。",
        "with_operator_ack": "担当者にお伝えしました。返信をお待ちください。",
        "status_queued": "担当者におつなぎしています。返信はこの画面に表示されます。",
        "status_claimed": "担当者が対応しています。返信はこの画面に表示されます。",
        "status_waiting": "担当者があなたの返信を待っています。",
        "status_resolved": "担当者の対応が終わりました。ほかにご質問があればどうぞ。",
        "satisfied": "解決した",
        "not_satisfied": "解決しない",
        "skip_to_input": "入力欄へ移動",
    },
    "en": {
        "page_title": "{tenant} enquiry chat",
        "heading": "{tenant} enquiries",
        "intro": "Answers come from official information. When unsure, or if you ask, "
                 "we connect you to staff.",
        "log_label": "Conversation",
        "input_label": "Your question",
        "input_hint": "Enter to send, Shift+Enter for a new line (up to {max_chars} characters)",
        "send": "Send",
        "talk_to_person": "Talk to a person",
        "talk_to_person_text": "I would like to talk to a person",
        "you": "You",
        "assistant": "Assistant",
        "operator": "Staff",
        "system": "Notice",
        "sources": "Sources",
        "as_of": "Information as of {date}",
        "choices": "Please choose the one that fits",
        "choice_sent": "You chose “{title}”",
        "helpful": "Helpful",
        "not_helpful": "Not helpful",
        "about_answer": "How was this answered?",
        "feedback_question": "Was this answer helpful?",
        "feedback_thanks": "Thank you for your feedback.",
        "sending": "Sending…",
        "waiting_operator": "Connecting you to staff. Their reply will appear here.",
        "operator_joined": "A member of staff has replied.",
        "error_send": "Your message could not be sent. Please check your connection and try again.",
        "error_empty": "Please enter your question.",
        "error_too_long": "Please use at most {max_chars} characters.",
        "error_server": "Sorry, we cannot answer right now. Please try again a little later.",
        "notice_heading": "What we keep",
        "notice": "To check answers and hand over to staff, this conversation is kept for {days} days and then erased. "
                  "Please do not enter personal data such as your name, address, phone number or My Number.",
        "notice_link": "More about how information is handled",
        "new_conversation": "Start a new conversation",
        "erase_conversation": "Erase this conversation",
        "erase_confirm": "The record of this conversation will be erased. This cannot be undone. Continue?",
        "erased": "The conversation has been erased.",
        "not_found_title": "Page not found",
        "not_found": "No enquiry desk called {tenant} was found. Please check the address.",
        "back_home": "Back to the start",
        "char_count": "{count} / {max_chars} characters",
        "too_long_by": "{over} characters too long. Please shorten it to {max_chars} characters (not sent yet).",
        "with_operator_ack": "We passed this on to the staff member. Please wait for their reply.",
        "status_queued": "Connecting you to a staff member. Their reply will appear here.",
        "status_claimed": "A staff member is handling your enquiry. Their reply will appear here.",
        "status_waiting": "The staff member is waiting for your reply.",
        "status_resolved": "The staff member has finished. Ask again any time.",
        "satisfied": "Solved",
        "not_satisfied": "Not solved",
        "skip_to_input": "Skip to the message box",
    },
    "zh": {
        "page_title": "{tenant} 咨询聊天",
        "heading": "{tenant} 咨询窗口",
        "intro": "根据政府的官方信息自动回答。不确定时或您希望时，将为您转接工作人员。",
        "log_label": "对话",
        "input_label": "您的问题",
        "input_hint": "按 Enter 发送，Shift+Enter 换行（最多 {max_chars} 个字符）",
        "send": "发送",
        "talk_to_person": "联系工作人员",
        "talk_to_person_text": "我想和工作人员交谈",
        "you": "您",
        "assistant": "自动回复",
        "operator": "工作人员",
        "system": "通知",
        "sources": "出处",
        "as_of": "截至{date}的信息",
        "choices": "请选择符合的选项",
        "choice_sent": "您选择了“{title}”",
        "helpful": "有帮助",
        "not_helpful": "没有帮助",
        "about_answer": "关于此回答",
        "feedback_question": "这个回答对您有帮助吗？",
        "feedback_thanks": "感谢您的反馈。",
        "sending": "正在发送…",
        "waiting_operator": "正在为您转接工作人员。回复将显示在此页面。",
        "operator_joined": "工作人员已回复。",
        "error_send": "发送失败。请检查网络后重试。",
        "error_empty": "请输入您的问题。",
        "error_too_long": "请输入 {max_chars} 个字符以内。",
        "error_server": "抱歉，目前无法回答。请稍后再试。",
        "notice_heading": "关于保存的信息",
        "notice": "为了确认回答并转接工作人员，本对话内容将保存{days}天，之后删除。"
                  "请勿输入姓名、地址、电话号码、个人编号等个人信息。",
        "notice_link": "详细信息（信息的处理）",
        "new_conversation": "开始新的对话",
        "erase_conversation": "删除此对话",
        "erase_confirm": "将删除此对话的记录，且无法恢复。确定吗？",
        "erased": "对话记录已删除。",
        "not_found_title": "找不到页面",
        "not_found": "找不到名为 {tenant} 的咨询窗口。请确认网址。",
        "back_home": "返回首页",
        "char_count": "{count} / {max_chars} 个字符",
        "too_long_by": "超出 {over} 个字符。请缩短到 {max_chars} 个字符以内（尚未发送）。",
        "with_operator_ack": "已转告工作人员。请等待回复。",
        "status_queued": "正在为您转接工作人员。回复将显示在此页面。",
        "status_claimed": "工作人员正在处理您的咨询。回复将显示在此页面。",
        "status_waiting": "工作人员正在等待您的回复。",
        "status_resolved": "工作人员已处理完毕。如有其他问题，请随时提问。",
        "satisfied": "已解决",
        "not_satisfied": "未解决",
        "skip_to_input": "跳到输入框",
    },
    "ko": {
        "page_title": "{tenant} 문의 채팅",
        "heading": "{tenant} 문의 창구",
        "intro": "공식 정보를 바탕으로 자동으로 답변합니다. 확실하지 않거나 원하시면 담당자에게 연결해 드립니다.",
        "log_label": "대화",
        "input_label": "질문",
        "input_hint": "Enter로 전송, Shift+Enter로 줄바꿈 (최대 {max_chars}자)",
        "send": "전송",
        "talk_to_person": "담당자와 상담",
        "talk_to_person_text": "담당자와 이야기하고 싶습니다",
        "you": "나",
        "assistant": "자동 응답",
        "operator": "담당자",
        "system": "알림",
        "sources": "출처",
        "as_of": "{date} 기준 정보",
        "choices": "해당하는 항목을 선택해 주세요",
        "choice_sent": "“{title}”을(를) 선택했습니다",
        "helpful": "도움이 됨",
        "not_helpful": "도움이 안 됨",
        "about_answer": "이 답변에 대하여",
        "feedback_question": "이 답변이 도움이 되었나요?",
        "feedback_thanks": "의견 감사합니다.",
        "sending": "전송 중…",
        "waiting_operator": "담당자에게 연결하고 있습니다. 답변은 이 화면에 표시됩니다.",
        "operator_joined": "담당자가 답변했습니다.",
        "error_send": "전송하지 못했습니다. 연결 상태를 확인하고 다시 시도해 주세요.",
        "error_empty": "질문을 입력해 주세요.",
        "error_too_long": "{max_chars}자 이내로 입력해 주세요.",
        "error_server": "죄송합니다. 지금은 답변할 수 없습니다. 잠시 후 다시 시도해 주세요.",
        "notice_heading": "저장하는 정보",
        "notice": "답변 확인과 담당자 연결을 위해 이 대화 내용을 {days}일간 보관한 뒤 삭제합니다. "
                  "이름, 주소, 전화번호, 마이넘버 등 개인정보는 입력하지 마세요.",
        "notice_link": "자세히 보기 (정보 취급)",
        "new_conversation": "새 대화 시작",
        "erase_conversation": "이 대화 삭제",
        "erase_confirm": "이 대화 기록을 삭제합니다. 되돌릴 수 없습니다. 계속하시겠습니까?",
        "erased": "대화 기록을 삭제했습니다.",
        "not_found_title": "페이지를 찾을 수 없습니다",
        "not_found": "{tenant}(이)라는 문의 창구를 찾을 수 없습니다. 주소를 확인해 주세요.",
        "back_home": "처음으로",
        "char_count": "{count} / {max_chars}자",
        "too_long_by": "{over}자 초과했습니다. {max_chars}자 이내로 줄여 주세요(아직 보내지 않았습니다).",
        "with_operator_ack": "담당자에게 전달했습니다. 답변을 기다려 주세요.",
        "status_queued": "담당자에게 연결하고 있습니다. 답변은 이 화면에 표시됩니다.",
        "status_claimed": "담당자가 문의를 처리하고 있습니다. 답변은 이 화면에 표시됩니다.",
        "status_waiting": "담당자가 회원님의 답변을 기다리고 있습니다.",
        "status_resolved": "담당자의 대응이 끝났습니다. 다른 질문이 있으면 언제든지 물어보세요.",
        "satisfied": "해결됨",
        "not_satisfied": "해결 안 됨",
        "skip_to_input": "입력란으로 이동",
    },
}

# The strings a reply carries to the page (the rest belong to the page shell).
REPLY_KEYS = (
    "you", "assistant", "operator", "system", "sources", "as_of", "choices", "choice_sent", "helpful",
    "not_helpful", "about_answer", "feedback_question", "feedback_thanks", "waiting_operator", "talk_to_person",
    "talk_to_person_text", "with_operator_ack", "status_queued", "status_claimed", "status_waiting", "status_resolved",
    "satisfied", "not_satisfied",
)
# The page's own controls, swapped into the resident's language once they write in it.
CHROME_KEYS = ("input_label", "input_hint", "send", "talk_to_person", "new_conversation", "erase_conversation",
               "skip_to_input", "log_label", "char_count", "too_long_by", "sending", "error_send", "error_empty",
               "error_server", "operator_joined", "erase_confirm", "erased")


def interface_language(language: str | None) -> str:
    """The dialogue may say 'other' (a language we have no interface for): English reaches most such readers."""
    if language in STRINGS:
        return language
    return "en" if language else DEFAULT_LANGUAGE


def strings(language: str | None = DEFAULT_LANGUAGE) -> dict[str, str]:
    return STRINGS[interface_language(language)]


def reply_strings(language: str | None) -> dict[str, str]:
    table = strings(language)
    return {key: table[key] for key in REPLY_KEYS}


def chrome_strings() -> dict[str, dict[str, str]]:
    return {language: {key: table[key] for key in CHROME_KEYS} for language, table in STRINGS.items()}


def text(key: str, language: str | None = DEFAULT_LANGUAGE, **values: Any) -> str:
    return strings(language)[key].format(**values)
