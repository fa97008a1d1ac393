/* Agent desk: what every desk page shares.
 *
 * window.Desk holds the EN / 中文 dictionary and the language toggle, the
 * fetch helper (cookies, CSRF header, JSON errors, 401 → sign-in page), the
 * Server-Sent Events helper, DOM builders and the formatting of times,
 * durations and money. No framework, no build step, nothing loaded from
 * elsewhere: the page's Content-Security-Policy allows only this origin.
 *
 * Static labels carry data-i18n="key" (text), data-i18n-label (aria-label),
 * data-i18n-title (title) or data-i18n-placeholder; page scripts use
 * Desk.t(key, params) and re-render on Desk.onLanguage(fn).
 */
(function () {
  "use strict";

  var LANG_KEY = "desk.lang";
  var REQUEST_TIMEOUT_MS = 20000;
  var LOGIN_URL = "/desk/login";

  var body = document.body;
  var BANK = {
    en: (body && body.getAttribute("data-bank-en")) || "",
    zh: (body && body.getAttribute("data-bank-zh")) || "",
  };

  var STRINGS = {
    en: {
      htmlLang: "en",
      bankName: BANK.en,
      // titles
      titleLogin: "Sign in · Agent desk · " + BANK.en,
      titleDesk: "Agent desk · " + BANK.en,
      titleSupervisor: "Supervisor view · Agent desk · " + BANK.en,
      deskTitle: "Agent desk",
      supervisorTitle: "Supervisor view",
      // header
      langToggle: "Language: English. Switch to 中文",
      role_agent: "Agent",
      role_supervisor: "Supervisor",
      signedInAs: "Signed in as",
      logout: "Sign out",
      supervisorLink: "Supervisor view",
      deskLink: "Desk",
      connecting: "Connecting…",
      live: "Live",
      reconnecting: "Reconnecting…",
      dismiss: "Dismiss",
      skipToConversation: "Skip to the conversation",
      // errors
      networkError: "Could not reach the server. Check the connection and try again.",
      httpError: "The server answered with an error ({status}).",
      sessionEnded: "Your session has ended. Please sign in again.",
      // login
      loginHeading: "Sign in to the agent desk",
      loginIntro: "Use your desk account. For authorised staff only.",
      username: "Username",
      password: "Password",
      signIn: "Sign in",
      capsLock: "Caps Lock is on.",
      loginFooter: "Activity on the desk is recorded and audited.",
      // queue
      queueHeading: "Queue",
      group_waiting: "Waiting",
      group_mine: "My conversations",
      group_others: "With other agents",
      empty_waiting: "No one is waiting.",
      empty_mine: "You have no open conversations.",
      empty_others: "No conversations with other agents.",
      queueLoading: "Loading the queue…",
      priority_urgent: "Urgent",
      priority_high: "High",
      unverified: "Not verified",
      waitingFor: "Waiting {time}",
      offersCount: "{n} offers to review",
      offersCountOne: "1 offer to review",
      withAgent: "With {name}",
      newWaiting: "New conversation waiting: {label}",
      waitingTitle: "({n}) Agent desk · " + BANK.en,
      // channels, languages, owners
      channel_web: "Web chat",
      channel_sms: "SMS",
      channel_voice: "Phone",
      lang_en: "English",
      lang_zh: "Chinese",
      owner_waiting: "Waiting for an agent",
      owner_agent: "With an agent",
      owner_bot: "With the assistant",
      owner_closed: "Closed",
      ownerMine: "With you",
      // reasons
      reason_distress: "Distress",
      reason_deceased: "Death reported",
      reason_death: "Death reported",
      reason_bankruptcy: "Bankruptcy",
      reason_attorney: "Attorney involved",
      reason_complaint: "Complaint",
      reason_dispute: "Dispute",
      reason_request_human: "Asked for a person",
      reason_customer_request: "Asked for a person",
      reason_identity_locked: "Identity check locked",
      reason_identity_check_failed: "Identity check locked",
      reason_broken_promises: "Broken promises",
      reason_assistant_unavailable: "Assistant unavailable",
      reason_review: "Offer to review",
      // conversation
      noConversationTitle: "No conversation open",
      noConversation: "Choose a conversation from the queue to read it and reply.",
      loading: "Loading…",
      unverifiedCardholder: "Unverified cardholder",
      conversationId: "Conversation {id}",
      take: "Take",
      takeOver: "Take over",
      handback: "Hand back to assistant",
      close: "Close",
      author_cardholder: "Cardholder",
      author_bot: "Assistant",
      author_system: "System",
      author_agent: "Agent {name}",
      buttonsShown: "Buttons shown to the cardholder:",
      transcriptLabel: "Transcript",
      emptyTranscript: "No messages yet.",
      today: "Today",
      yesterday: "Yesterday",
      newMessages: "New messages",
      // reply
      replyLabel: "Reply to the cardholder",
      replyPlaceholder: "Type your reply…",
      send: "Send",
      sending: "Sending…",
      replyHint: "Enter to send · Shift+Enter for a new line",
      takeToReply: "Take this conversation to reply.",
      closedNoReply: "This conversation is closed.",
      replyTooLong: "Replies are limited to 2,000 characters.",
      delivery_web: "Delivered to the web chat.",
      delivery_sms: "Sent by SMS.",
      delivery_sms_failed: "The SMS could not be sent. The cardholder has not received this reply.",
      delivery_sms_suppressed: "Not sent by SMS: the contact policy does not allow a message now.",
      // results
      taken: "You have taken this conversation.",
      handedBack: "Handed back to the assistant.",
      closedDone: "Conversation closed.",
      approvedDone: "Offer approved. The cardholder will be told.",
      refusedDone: "Offer refused. The cardholder will be told.",
      // account
      accountHeading: "Account",
      accountNone: "Open a conversation to see the account.",
      notVerified: "Identity not verified — no account details",
      notVerifiedHint: "Details appear once the cardholder passes the identity check.",
      card: "Card",
      phone: "Phone",
      jurisdiction: "Jurisdiction",
      juris_US: "United States",
      juris_CN: "China",
      balance: "Balance",
      minimumDue: "Minimum due",
      dueDate: "Due date",
      daysPastDue: "Days past due",
      bucket: "Bucket",
      flags: "Flags",
      flag_dispute_open: "Dispute open",
      flag_attorney_represented: "Represented by an attorney",
      flag_bankruptcy: "Bankruptcy",
      flag_deceased: "Deceased",
      flag_vulnerable: "Vulnerable customer",
      flagsBlockApproval: "No offer can be approved while the account is flagged: {flags}.",
      bucket_current: "Current",
      bucket_early: "Early",
      bucket_mid: "Mid",
      bucket_late: "Late",
      bucket_npl: "Non-performing",
      bucket_charged_off: "Charged off",
      promisesHeading: "Promises to pay",
      plansHeading: "Plans",
      historyHeading: "Offer history",
      amount: "Amount",
      payOn: "Pay on",
      status: "Status",
      madeBy: "By",
      type: "Type",
      principal: "Principal",
      term: "Term",
      remainingOf: "{remaining} of {months} left",
      none: "None",
      promise_open: "Open",
      promise_kept: "Kept",
      promise_broken: "Broken",
      promise_cancelled: "Cancelled",
      plan_active: "Active",
      plan_paid_off: "Paid off",
      plan_cancelled: "Cancelled",
      plan_broken: "Broken",
      source_purchase: "Purchase instalments",
      source_statement: "Statement instalments",
      source_hardship: "Hardship plan",
      // offers
      offersHeading: "Offers to review",
      offersEmpty: "No offers waiting for a decision.",
      kind_installment: "Instalment plan",
      kind_promise: "Promise to pay",
      kind_hardship_plan: "Hardship plan",
      kind_fee_waiver: "Fee waiver",
      kind_interest_waiver: "Interest waiver",
      kind_settlement: "Settlement",
      offer_proposed: "Proposed",
      offer_accepted: "Accepted",
      offer_refused: "Refused",
      offer_pending_approval: "Awaiting approval",
      offer_approved: "Approved",
      offer_rejected: "Rejected",
      offer_expired: "Expired",
      authority_bot: "Assistant's authority",
      authority_agent: "Agent approval",
      authority_supervisor: "Supervisor approval",
      approve: "Approve",
      refuse: "Refuse",
      caseSummary: "Case summary",
      proposedBy: "Requested by {who} · {when}",
      decidedBy: "Decided by {who} · {when}",
      policyVersion: "Policy {version}",
      cannotDecideSupervisor: "Only a supervisor can decide this offer. Ask a supervisor to review it.",
      cannotDecideTake: "Take the conversation to decide this offer.",
      cannotDecide: "You cannot decide this offer.",
      // confirm dialog
      confirmApproveTitle: "Approve this offer?",
      confirmRefuseTitle: "Refuse this offer?",
      confirmText: "Your decision is recorded under your name and the cardholder is told in their language.",
      confirmNote: "Note (optional)",
      confirmNoteHint: "Kept with the decision for the audit trail.",
      cancel: "Cancel",
      // supervisor
      period: "Period",
      period_1: "Last day",
      period_7: "Last 7 days",
      period_30: "Last 30 days",
      refresh: "Refresh",
      updatedAt: "Updated {time}",
      statsHeading: "Desk statistics",
      kpiWaiting: "Waiting now",
      kpiWithAgents: "With agents",
      kpiOldest: "Oldest wait",
      kpiMedian: "Median wait",
      kpiAvgTake: "Average wait to take",
      kpiP90Take: "90% taken within",
      kpiContainment: "Containment rate",
      kpiTakenCount: "{n} taken in the period",
      kpiContainmentDetail: "{contained} of {conversations} without a person",
      kpiQueueDetail: "Conversations waiting for a person",
      kpiWithAgentsDetail: "Being handled now",
      chartReasons: "Handoffs by reason",
      chartDays: "Handoffs per day",
      chartPromises: "Promises to pay by channel and language",
      chartAgreements: "Agreements by channel and language",
      chartEmpty: "No data for this period.",
      colReason: "Reason",
      colDay: "Day",
      colChannel: "Channel",
      colLanguage: "Language",
      colCount: "Count",
      chartTableNote: "Data table",
      // durations
      durSeconds: "{s} s",
      durMinutes: "{m} min {s} s",
      durHours: "{h} h {m} min",
      durDays: "{d} d {h} h",
    },
    zh: {
      htmlLang: "zh-CN",
      bankName: BANK.zh,
      titleLogin: "登录 · 坐席工作台 · " + BANK.zh,
      titleDesk: "坐席工作台 · " + BANK.zh,
      titleSupervisor: "主管视图 · 坐席工作台 · " + BANK.zh,
      deskTitle: "坐席工作台",
      supervisorTitle: "主管视图",
      langToggle: "当前语言:中文。切换到 English",
      role_agent: "坐席",
      role_supervisor: "主管",
      signedInAs: "当前用户",
      logout: "退出登录",
      supervisorLink: "主管视图",
      deskLink: "工作台",
      connecting: "正在连接…",
      live: "实时",
      reconnecting: "正在重新连接…",
      dismiss: "关闭",
      skipToConversation: "跳到会话内容",
      networkError: "无法连接服务器,请检查网络后重试。",
      httpError: "服务器返回错误({status})。",
      sessionEnded: "登录已过期,请重新登录。",
      loginHeading: "登录坐席工作台",
      loginIntro: "请使用您的工作台账号登录,仅限授权员工使用。",
      username: "用户名",
      password: "密码",
      signIn: "登录",
      capsLock: "大写锁定已开启。",
      loginFooter: "工作台上的所有操作均会被记录和审计。",
      queueHeading: "队列",
      group_waiting: "等待接入",
      group_mine: "我的会话",
      group_others: "其他坐席处理中",
      empty_waiting: "暂无等待的客户。",
      empty_mine: "您当前没有会话。",
      empty_others: "其他坐席暂无会话。",
      queueLoading: "正在加载队列…",
      priority_urgent: "紧急",
      priority_high: "优先",
      unverified: "未验证身份",
      waitingFor: "已等待 {time}",
      offersCount: "{n} 个方案待审批",
      offersCountOne: "1 个方案待审批",
      withAgent: "由 {name} 处理",
      newWaiting: "有新的客户等待接入:{label}",
      waitingTitle: "({n}) 坐席工作台 · " + BANK.zh,
      channel_web: "网页聊天",
      channel_sms: "短信",
      channel_voice: "电话",
      lang_en: "英文",
      lang_zh: "中文",
      owner_waiting: "等待人工接入",
      owner_agent: "坐席处理中",
      owner_bot: "智能助手处理中",
      owner_closed: "已结束",
      ownerMine: "由您处理",
      reason_distress: "情绪危机",
      reason_deceased: "报告身故",
      reason_death: "报告身故",
      reason_bankruptcy: "破产",
      reason_attorney: "律师介入",
      reason_complaint: "投诉",
      reason_dispute: "交易争议",
      reason_request_human: "要求转人工",
      reason_customer_request: "要求转人工",
      reason_identity_locked: "身份验证已锁定",
      reason_identity_check_failed: "身份验证已锁定",
      reason_broken_promises: "多次未履行还款承诺",
      reason_assistant_unavailable: "智能助手不可用",
      reason_review: "方案待审批",
      noConversationTitle: "未打开会话",
      noConversation: "请从左侧队列中选择一个会话进行查看和回复。",
      loading: "正在加载…",
      unverifiedCardholder: "未验证身份的客户",
      conversationId: "会话 {id}",
      take: "接入",
      takeOver: "接管",
      handback: "交还智能助手",
      close: "结束会话",
      author_cardholder: "持卡人",
      author_bot: "智能助手",
      author_system: "系统",
      author_agent: "坐席 {name}",
      buttonsShown: "向持卡人显示的按钮:",
      transcriptLabel: "会话记录",
      emptyTranscript: "暂无消息。",
      today: "今天",
      yesterday: "昨天",
      newMessages: "有新消息",
      replyLabel: "回复持卡人",
      replyPlaceholder: "输入回复内容…",
      send: "发送",
      sending: "正在发送…",
      replyHint: "Enter 发送 · Shift+Enter 换行",
      takeToReply: "接入此会话后才能回复。",
      closedNoReply: "此会话已结束。",
      replyTooLong: "回复不能超过 2000 字。",
      delivery_web: "已发送至网页聊天。",
      delivery_sms: "已通过短信发送。",
      delivery_sms_failed: "短信发送失败,持卡人未收到此回复。",
      delivery_sms_suppressed: "未发送短信:联系策略当前不允许发送。",
      taken: "您已接入此会话。",
      handedBack: "已交还智能助手。",
      closedDone: "会话已结束。",
      approvedDone: "方案已批准,系统将通知持卡人。",
      refusedDone: "方案已拒绝,系统将通知持卡人。",
      accountHeading: "账户信息",
      accountNone: "打开会话后显示账户信息。",
      notVerified: "身份未验证 — 不显示账户信息",
      notVerifiedHint: "持卡人通过身份验证后将显示账户详情。",
      card: "卡号",
      phone: "电话",
      jurisdiction: "所属地区",
      juris_US: "美国",
      juris_CN: "中国",
      balance: "欠款余额",
      minimumDue: "最低还款额",
      dueDate: "到期还款日",
      daysPastDue: "逾期天数",
      bucket: "逾期阶段",
      flags: "标记",
      flag_dispute_open: "争议处理中",
      flag_attorney_represented: "已委托律师",
      flag_bankruptcy: "破产",
      flag_deceased: "已身故",
      flag_vulnerable: "弱势客户",
      flagsBlockApproval: "账户已被标记({flags}),不能批准任何方案。",
      bucket_current: "正常",
      bucket_early: "早期逾期",
      bucket_mid: "中期逾期",
      bucket_late: "后期逾期",
      bucket_npl: "不良",
      bucket_charged_off: "已核销",
      promisesHeading: "还款承诺",
      plansHeading: "分期计划",
      historyHeading: "方案记录",
      amount: "金额",
      payOn: "承诺还款日",
      status: "状态",
      madeBy: "经办",
      type: "类型",
      principal: "本金",
      term: "期数",
      remainingOf: "剩余 {remaining}/{months} 期",
      none: "无",
      promise_open: "待履行",
      promise_kept: "已履行",
      promise_broken: "未履行",
      promise_cancelled: "已取消",
      plan_active: "进行中",
      plan_paid_off: "已还清",
      plan_cancelled: "已取消",
      plan_broken: "已违约",
      source_purchase: "消费分期",
      source_statement: "账单分期",
      source_hardship: "个性化分期",
      offersHeading: "待审批方案",
      offersEmpty: "暂无待审批的方案。",
      kind_installment: "分期",
      kind_promise: "还款承诺",
      kind_hardship_plan: "协商还款方案",
      kind_fee_waiver: "费用减免",
      kind_interest_waiver: "利息减免",
      kind_settlement: "一次性结清",
      offer_proposed: "已提出",
      offer_accepted: "已接受",
      offer_refused: "已拒绝",
      offer_pending_approval: "待审批",
      offer_approved: "已批准",
      offer_rejected: "已驳回",
      offer_expired: "已过期",
      authority_bot: "助手权限内",
      authority_agent: "需坐席审批",
      authority_supervisor: "需主管审批",
      approve: "批准",
      refuse: "拒绝",
      caseSummary: "案件摘要",
      proposedBy: "{who} 于 {when} 提交",
      decidedBy: "{who} 于 {when} 决定",
      policyVersion: "政策版本 {version}",
      cannotDecideSupervisor: "此方案需由主管审批,请联系主管处理。",
      cannotDecideTake: "接入此会话后才能审批此方案。",
      cannotDecide: "您无权审批此方案。",
      confirmApproveTitle: "确认批准此方案?",
      confirmRefuseTitle: "确认拒绝此方案?",
      confirmText: "此决定将以您的名义记录,系统会用持卡人的语言通知对方。",
      confirmNote: "备注(可选)",
      confirmNoteHint: "备注会随决定一并存档,供审计使用。",
      cancel: "取消",
      period: "统计周期",
      period_1: "最近 1 天",
      period_7: "最近 7 天",
      period_30: "最近 30 天",
      refresh: "刷新",
      updatedAt: "更新于 {time}",
      statsHeading: "工作台统计",
      kpiWaiting: "当前等待",
      kpiWithAgents: "坐席处理中",
      kpiOldest: "最长等待",
      kpiMedian: "等待时间中位数",
      kpiAvgTake: "平均接入等待",
      kpiP90Take: "90% 会话接入用时",
      kpiContainment: "自助解决率",
      kpiTakenCount: "期间共接入 {n} 个会话",
      kpiContainmentDetail: "{conversations} 个会话中 {contained} 个无需人工",
      kpiQueueDetail: "等待人工接入的会话",
      kpiWithAgentsDetail: "正在处理的会话",
      chartReasons: "按原因统计的转人工",
      chartDays: "每日转人工数量",
      chartPromises: "按渠道和语言统计的还款承诺",
      chartAgreements: "按渠道和语言统计的还款协议",
      chartEmpty: "此期间暂无数据。",
      colReason: "原因",
      colDay: "日期",
      colChannel: "渠道",
      colLanguage: "语言",
      colCount: "数量",
      chartTableNote: "数据表",
      durSeconds: "{s} 秒",
      durMinutes: "{m} 分 {s} 秒",
      durHours: "{h} 小时 {m} 分",
      durDays: "{d} 天 {h} 小时",
    },
  };

  // --- storage (private browsing may throw) -----------------------------------

  function readLocal(key) {
    try {
      return window.localStorage.getItem(key);
    } catch (e) {
      return null;
    }
  }

  function writeLocal(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch (e) {
      /* the choice lasts for this page only */
    }
  }

  // --- language ---------------------------------------------------------------

  function initialLanguage() {
    var saved = readLocal(LANG_KEY);
    if (saved === "en" || saved === "zh") return saved;
    var preferred = (navigator.languages && navigator.languages[0]) || navigator.language || "";
    return /^zh/i.test(preferred) ? "zh" : "en";
  }

  var current = initialLanguage();
  var listeners = [];

  function t(key, params) {
    var table = STRINGS[current];
    var text = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : STRINGS.en[key];
    if (text === undefined) return key;
    if (params) {
      text = text.replace(/\{(\w+)\}/g, function (match, name) {
        return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : match;
      });
    }
    return text;
  }

  function has(key) {
    return Object.prototype.hasOwnProperty.call(STRINGS.en, key);
  }

  function applyStatic(root) {
    var scope = root || document;
    var i;
    var nodes = scope.querySelectorAll("[data-i18n]");
    for (i = 0; i < nodes.length; i++) nodes[i].textContent = t(nodes[i].getAttribute("data-i18n"));
    nodes = scope.querySelectorAll("[data-i18n-label]");
    for (i = 0; i < nodes.length; i++) {
      nodes[i].setAttribute("aria-label", t(nodes[i].getAttribute("data-i18n-label")));
    }
    nodes = scope.querySelectorAll("[data-i18n-title]");
    for (i = 0; i < nodes.length; i++) nodes[i].title = t(nodes[i].getAttribute("data-i18n-title"));
    nodes = scope.querySelectorAll("[data-i18n-placeholder]");
    for (i = 0; i < nodes.length; i++) {
      nodes[i].placeholder = t(nodes[i].getAttribute("data-i18n-placeholder"));
    }
  }

  function applyLanguage() {
    document.documentElement.lang = t("htmlLang");
    applyStatic(document);
    var toggle = document.getElementById("lang-toggle");
    if (toggle) {
      toggle.title = t("langToggle");
      var parts = toggle.querySelectorAll("[data-lang]");
      for (var i = 0; i < parts.length; i++) {
        parts[i].classList.toggle("is-current", parts[i].getAttribute("data-lang") === current);
      }
    }
  }

  function setLanguage(lang) {
    if (!STRINGS[lang] || lang === current) return;
    current = lang;
    writeLocal(LANG_KEY, lang);
    applyLanguage();
    for (var i = 0; i < listeners.length; i++) {
      try {
        listeners[i](lang);
      } catch (e) {
        if (window.console) console.error(e);
      }
    }
  }

  function onLanguage(fn) {
    listeners.push(fn);
  }

  // --- page meta --------------------------------------------------------------

  function meta(name) {
    var el = document.querySelector('meta[name="' + name + '"]');
    return el ? el.getAttribute("content") || "" : "";
  }

  function csrfToken() {
    return meta("csrf-token");
  }

  function role() {
    return meta("desk-role") === "supervisor" ? "supervisor" : "agent";
  }

  // --- clock: the server's, as far as its Date header tells ------------------

  var clockOffset = 0;

  function noteServerClock(response) {
    var header = response.headers && response.headers.get("Date");
    if (!header) return;
    var server = Date.parse(header);
    if (isNaN(server)) return;
    var offset = server - Date.now();
    // The header has whole seconds: only a real skew is worth correcting.
    clockOffset = Math.abs(offset) > 2000 ? offset : 0;
  }

  function now() {
    return Date.now() + clockOffset;
  }

  // --- talking to the API -----------------------------------------------------

  var leaving = false;

  function goToLogin() {
    if (leaving) return;
    leaving = true;
    window.location.assign(LOGIN_URL);
  }

  function apiError(message, status, data) {
    var error = new Error(message);
    error.status = status;
    error.data = data || null;
    return error;
  }

  /* Resolves with the parsed JSON body; rejects with an Error whose message
   * is the API's own `error` text (shown verbatim) and whose `status` is the
   * HTTP status (0 when the server could not be reached). */
  function api(method, path, payload) {
    var headers = { Accept: "application/json" };
    var init = { method: method, credentials: "same-origin", cache: "no-store", headers: headers };
    if (method !== "GET" && method !== "HEAD") {
      headers["X-CSRF-Token"] = csrfToken();
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload || {});
    }
    var controller = "AbortController" in window ? new AbortController() : null;
    var timer = null;
    if (controller) {
      init.signal = controller.signal;
      timer = setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS);
    }
    return fetch(path, init).then(
      function (response) {
        if (timer) clearTimeout(timer);
        noteServerClock(response);
        if (response.status === 401) {
          goToLogin();
          throw apiError(t("sessionEnded"), 401);
        }
        return response.text().then(function (text) {
          var data = null;
          if (text) {
            try {
              data = JSON.parse(text);
            } catch (e) {
              data = null;
            }
          }
          if (!response.ok) {
            var message = data && typeof data.error === "string" && data.error
              ? data.error
              : t("httpError", { status: response.status });
            throw apiError(message, response.status, data);
          }
          return data;
        });
      },
      function () {
        if (timer) clearTimeout(timer);
        throw apiError(t("networkError"), 0);
      }
    );
  }

  function logout() {
    var done = function () { goToLogin(); };
    fetch("/desk/logout", {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "X-CSRF-Token": csrfToken() },
    }).then(done, done);
  }

  // --- Server-Sent Events -----------------------------------------------------

  /* handlers: {eventName: function (data)}; onState("connecting" | "live" |
   * "reconnecting", wasReconnect). EventSource reconnects by itself after a
   * dropped stream; when the browser gives up (the server answered with an
   * error status), a new one is opened a little later. */
  function listen(handlers, onState) {
    if (!("EventSource" in window)) return { close: function () {} };
    var source = null;
    var retry = null;
    var hadError = false;
    var closed = false;
    var state = function (name, again) {
      if (onState) onState(name, again);
    };

    function connect() {
      if (closed) return;
      state(hadError ? "reconnecting" : "connecting", false);
      source = new EventSource("/desk/api/events", { withCredentials: true });
      source.onopen = function () {
        state("live", hadError);
        hadError = false;
      };
      source.onerror = function () {
        hadError = true;
        state("reconnecting", false);
        if (source.readyState === 2 /* CLOSED */) {
          source.close();
          if (!retry) {
            retry = setTimeout(function () {
              retry = null;
              connect();
            }, 5000);
          }
        }
      };
      Object.keys(handlers).forEach(function (name) {
        source.addEventListener(name, function (event) {
          var data = {};
          try {
            data = event.data ? JSON.parse(event.data) : {};
          } catch (e) {
            data = {};
          }
          handlers[name](data || {});
        });
      });
    }

    window.addEventListener("pagehide", function () {
      closed = true;
      if (source) source.close();
    });
    connect();
    return {
      close: function () {
        closed = true;
        if (source) source.close();
      },
    };
  }

  // --- DOM builders -----------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  var SVG_NS = "http://www.w3.org/2000/svg";

  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG_NS, tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        node.setAttribute(name, String(attrs[name]));
      });
    }
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  var ICONS = {
    web: ["M3 12h18", "M12 3a13.5 13.5 0 0 1 0 18a13.5 13.5 0 0 1 0-18z", "circle"],
    sms: ["M4 5.5h16v10.5H10l-4.5 3.5V16H4z"],
    voice: [
      "M7.2 3.8l2.6.4 1.2 3.8-1.9 1.4a10.5 10.5 0 0 0 5.5 5.5l1.4-1.9 3.8 1.2.4 2.6c-.2 1-1 1.7-2.1 1.7C10.6 18.5 5.5 13.4 5.5 5.9c0-1.1.7-1.9 1.7-2.1z",
    ],
  };

  function icon(name) {
    var paths = ICONS[name] || ICONS.web;
    var node = svg("svg", {
      viewBox: "0 0 24 24", width: 16, height: 16, "aria-hidden": "true", focusable: "false",
      "class": "icon icon-" + name,
    });
    paths.forEach(function (d) {
      if (d === "circle") {
        node.appendChild(svg("circle", { cx: 12, cy: 12, r: 9 }));
      } else {
        node.appendChild(svg("path", { d: d }));
      }
    });
    return node;
  }

  // --- formatting -------------------------------------------------------------

  function locale() {
    return current === "zh" ? "zh-CN" : "en-US";
  }

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function parseTime(iso) {
    if (!iso) return null;
    var ms = Date.parse(iso);
    return isNaN(ms) ? null : new Date(ms);
  }

  function sameDay(a, b) {
    return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() &&
      a.getDate() === b.getDate();
  }

  /* "14:05" today, otherwise "May 3, 14:05" / "5月3日 14:05". */
  function formatTime(iso) {
    var date = parseTime(iso);
    if (!date) return "—";
    var time = pad(date.getHours()) + ":" + pad(date.getMinutes());
    if (sameDay(date, new Date(now()))) return time;
    var day = new Intl.DateTimeFormat(locale(), { month: "short", day: "numeric" }).format(date);
    if (date.getFullYear() !== new Date(now()).getFullYear()) {
      day = new Intl.DateTimeFormat(locale(), { year: "numeric", month: "short", day: "numeric" })
        .format(date);
    }
    return day + " " + time;
  }

  function formatHM(iso) {
    var date = parseTime(iso);
    return date ? pad(date.getHours()) + ":" + pad(date.getMinutes()) : "—";
  }

  function formatClockTime(iso) {
    var date = parseTime(iso);
    if (!date) return "—";
    return pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds());
  }

  function formatFullTime(iso) {
    var date = parseTime(iso);
    if (!date) return "";
    return new Intl.DateTimeFormat(locale(), {
      year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
      second: "2-digit", hour12: false,
    }).format(date);
  }

  /* A date without a time ("2024-05-20"): shown as that calendar day wherever
   * the browser is. */
  function formatDate(isoDate, options) {
    if (!isoDate) return "—";
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(isoDate);
    if (!m) return String(isoDate);
    var date = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
    var opts = options || { year: "numeric", month: "short", day: "numeric" };
    opts.timeZone = "UTC";
    return new Intl.DateTimeFormat(locale(), opts).format(date);
  }

  /* The local calendar day of a time, for grouping the transcript. */
  function dayLabel(iso) {
    var date = parseTime(iso);
    if (!date) return "";
    var today = new Date(now());
    var yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
    if (sameDay(date, today)) return t("today");
    if (sameDay(date, yesterday)) return t("yesterday");
    return new Intl.DateTimeFormat(locale(), {
      weekday: "short", year: "numeric", month: "short", day: "numeric",
    }).format(date);
  }

  function dayKey(iso) {
    var date = parseTime(iso);
    return date ? date.getFullYear() + "-" + date.getMonth() + "-" + date.getDate() : "";
  }

  /* A ticking wait: "04:07", "1:02:09". */
  function formatClock(seconds) {
    var s = Math.max(0, Math.floor(seconds || 0));
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    var rest = s % 60;
    return h > 0 ? h + ":" + pad(m) + ":" + pad(rest) : pad(m) + ":" + pad(rest);
  }

  function secondsSince(iso) {
    var date = parseTime(iso);
    return date ? Math.max(0, (now() - date.getTime()) / 1000) : null;
  }

  /* A statistic: "42 s", "4 min 07 s", "1 h 05 min". */
  function formatDuration(seconds) {
    if (seconds === null || seconds === undefined || isNaN(seconds)) return "—";
    var s = Math.max(0, Math.round(seconds));
    if (s < 60) return t("durSeconds", { s: s });
    if (s < 3600) return t("durMinutes", { m: Math.floor(s / 60), s: pad(s % 60) });
    if (s < 86400) return t("durHours", { h: Math.floor(s / 3600), m: pad(Math.floor((s % 3600) / 60)) });
    return t("durDays", { d: Math.floor(s / 86400), h: Math.floor((s % 86400) / 3600) });
  }

  function formatPercent(rate) {
    if (rate === null || rate === undefined || isNaN(rate)) return "—";
    return (Math.round(rate * 1000) / 10).toFixed(1) + "%";
  }

  function formatNumber(n) {
    if (n === null || n === undefined || isNaN(n)) return "—";
    return new Intl.NumberFormat(locale()).format(n);
  }

  /* Money arrives as a decimal string; it is only ever displayed, so it is
   * grouped as text and never turned into a float. */
  function formatMoney(amount, currency) {
    if (amount === null || amount === undefined || amount === "") return "—";
    var text = String(amount).trim();
    var m = /^([+-]?)(\d+)(\.\d+)?$/.exec(text);
    var shown = text;
    if (m) {
      var grouped = m[2].replace(/^0+(?=\d)/, "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
      shown = (m[1] === "-" ? "−" : "") + grouped + (m[3] || "");
    }
    return currency ? currency + " " + shown : shown;
  }

  function maskCard(last4) {
    return last4 ? "•••• " + last4 : "";
  }

  /* A conversation's reason in words, when known; otherwise as given. */
  function reasonLabel(reason) {
    if (!reason) return "";
    var parts = String(reason).split(":");
    if (parts[0] === "review" || parts[0] === "offer_review") {
      var kind = parts[1] && has("kind_" + parts[1]) ? t("kind_" + parts[1]) : null;
      return kind ? t("reason_review") + " · " + kind : t("reason_review");
    }
    return has("reason_" + reason) ? t("reason_" + reason) : String(reason);
  }

  function label(prefix, value) {
    if (value === null || value === undefined || value === "") return "—";
    return has(prefix + value) ? t(prefix + value) : String(value);
  }

  // --- page chrome --------------------------------------------------------------

  function setupChrome() {
    var toggle = document.getElementById("lang-toggle");
    if (toggle) {
      toggle.addEventListener("click", function () {
        setLanguage(current === "zh" ? "en" : "zh");
      });
    }
    var out = document.getElementById("logout-btn");
    if (out) {
      out.addEventListener("click", function () {
        out.disabled = true;
        logout();
      });
    }
    var supervisorLink = document.getElementById("supervisor-link");
    if (supervisorLink) supervisorLink.hidden = role() !== "supervisor";
    setupLogin();
  }

  /* The sign-in page: focus the first empty field, warn about Caps Lock,
   * and keep a double click from posting twice. */
  function setupLogin() {
    var form = document.getElementById("login-form");
    if (!form) return;
    var user = form.elements.namedItem("username");
    var pass = form.elements.namedItem("password");
    var error = document.getElementById("login-error");
    if (error && !error.textContent.trim()) error.textContent = "";
    if (user && pass) {
      (user.value ? pass : user).focus();
      var warning = document.getElementById("caps-warning");
      var caps = function (event) {
        if (warning && event.getModifierState) warning.hidden = !event.getModifierState("CapsLock");
      };
      pass.addEventListener("keydown", caps);
      pass.addEventListener("keyup", caps);
      pass.addEventListener("blur", function () { if (warning) warning.hidden = true; });
    }
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) {
        setTimeout(function () { button.disabled = true; }, 0);
        setTimeout(function () { button.disabled = false; }, 8000);
      }
    });
  }

  window.Desk = {
    t: t,
    has: has,
    lang: function () { return current; },
    setLanguage: setLanguage,
    onLanguage: onLanguage,
    applyStatic: applyStatic,
    csrfToken: csrfToken,
    role: role,
    now: now,
    api: api,
    logout: logout,
    listen: listen,
    el: el,
    svg: svg,
    clear: clear,
    icon: icon,
    formatTime: formatTime,
    formatHM: formatHM,
    formatClockTime: formatClockTime,
    formatFullTime: formatFullTime,
    formatDate: formatDate,
    dayLabel: dayLabel,
    dayKey: dayKey,
    formatClock: formatClock,
    secondsSince: secondsSince,
    formatDuration: formatDuration,
    formatPercent: formatPercent,
    formatNumber: formatNumber,
    formatMoney: formatMoney,
    maskCard: maskCard,
    reasonLabel: reasonLabel,
    label: label,
  };

  applyLanguage();
  setupChrome();
})();
