/*
 * Aftercare Assistant chat widget. Embed with one tag:
 *   <script src="https://assistant.example.org/webhooks/widget/static/widget.js" defer></script>
 * Optional attributes: data-open="true" opens the chat on load.
 *
 * No framework, no third-party code. Every label comes from the server (/config); the
 * conversation comes from the assistant. The server issues the session token and marks
 * urgent and emergency replies; this file never inspects what a reply says.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.__aftercareWidget) { return; }
  window.__aftercareWidget = true;

  var BASE = script.src.replace(/\/static\/widget\.js(\?.*)?$/, "");
  var STORAGE_KEY = "aftercare-widget-session:" + BASE;
  var RETRY_DELAYS = [1000, 2000, 4000, 8000, 15000];
  var memoryToken = null;

  var config = null;
  var token = null;
  var queue = [];
  var sending = false;
  var offline = false;
  var ui = {};
  var shownOutbound = {};
  var POLL_MS = 3000;

  // ---- storage (localStorage may be unavailable, e.g. in private windows) ----
  function loadToken() {
    try { return window.localStorage.getItem(STORAGE_KEY); } catch (e) { return memoryToken; }
  }
  function saveToken(value) {
    memoryToken = value;
    try {
      if (value) { window.localStorage.setItem(STORAGE_KEY, value); }
      else { window.localStorage.removeItem(STORAGE_KEY); }
    } catch (e) { /* keep it in memory only */ }
  }

  function newId() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  // ---- HTTP ----
  // Only "simple" requests (no custom headers, a text/plain body): a clinic's website can
  // embed the widget from another origin without CORS preflights. The token travels in the body.
  function call(method, path, body) {
    var init = { method: method, cache: "no-store", credentials: "omit" };
    if (method === "POST") {
      var payload = {};
      Object.keys(body || {}).forEach(function (key) { payload[key] = body[key]; });
      if (token) { payload.token = token; }
      init.headers = { "Content-Type": "text/plain;charset=UTF-8" };
      init.body = JSON.stringify(payload);
    }
    return fetch(BASE + path, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, data: data };
      });
    });
  }

  // Retry network failures and server errors until the server answers again.
  function reliably(method, path, body) {
    var attempt = 0;
    function once() {
      return call(method, path, body).then(function (result) {
        if (result.status >= 500) { throw new Error("server " + result.status); }
        setOffline(false);
        return result;
      }).catch(function () {
        setOffline(true);
        var delay = RETRY_DELAYS[Math.min(attempt, RETRY_DELAYS.length - 1)];
        attempt += 1;
        return sleep(delay).then(once);
      });
    }
    return once();
  }

  function ensureSession() {
    if (token) { return Promise.resolve(token); }
    return reliably("POST", "/session", {}).then(function (result) {
      token = result.data.token;
      saveToken(token);
      return token;
    });
  }

  // ---- rendering ----
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  // Set several attributes (roles, ARIA states) of ``node`` at once; return it.
  function attrs(node, values) {
    Object.keys(values).forEach(function (name) { node.setAttribute(name, values[name]); });
    return node;
  }

  function label(name) { return (config && config.labels[name]) || ""; }

  function paragraphs(container, text) {
    String(text || "").split(/\n{2,}/).forEach(function (block) {
      var p = el("p", "acw-text");
      block.split("\n").forEach(function (line, index) {
        if (index > 0) { p.appendChild(document.createElement("br")); }
        p.appendChild(document.createTextNode(line));
      });
      container.appendChild(p);
    });
  }

  function callLink(href, text, primary) {
    var a = el("a", "acw-call" + (primary ? " acw-call-primary" : ""), text);
    a.href = href;
    return a;
  }

  function addMessage(message, live) {
    var fromStaff = message.from === "staff";
    var fromBot = message.from === "bot" || message.from === "assistant";
    if (message.id && String(message.id).indexOf("outbound-") === 0) { shownOutbound[message.id] = true; }
    var item = el("li", "acw-msg " + (fromStaff ? "acw-staff" : fromBot ? "acw-bot" : "acw-user"));
    var who = el("span", fromStaff ? "acw-who" : "acw-sr", (fromStaff ? label("staff") : fromBot ? label("assistant") : label("you")) + ": ");
    item.appendChild(who);
    var level = fromBot ? message.level : null;
    if (level === "urgent" || level === "emergency") {
      // role="alert" is not allowed on <li>: an inner box carries it, so only the new
      // escalation is read out at once (never the history it joins, nor one restored on reload).
      item.className += " acw-escalation acw-escalation-" + level;
      var box = el("div", "acw-alert acw-" + level);
      if (live) { box.setAttribute("role", "alert"); }
      item.appendChild(box);
      box.appendChild(el("strong", "acw-banner", label(level === "emergency" ? "emergency_banner" : "urgent_banner")));
      paragraphs(box, message.text);
      var calls = el("div", "acw-calls");
      var clinic = config.clinic;
      if (level === "emergency" && clinic.emergency_link) {
        calls.appendChild(callLink(clinic.emergency_link, label("call_emergency"), true));
      }
      if (clinic.phone_link) { calls.appendChild(callLink(clinic.phone_link, label("call_clinic"), level === "urgent")); }
      if (level === "urgent" && clinic.emergency_link) {
        calls.appendChild(callLink(clinic.emergency_link, label("call_emergency"), false));
      }
      box.appendChild(calls);
    } else {
      paragraphs(item, message.text);
    }
    if (message.photo) { showPhoto(item, message.photo.id); }
    if (fromBot && message.buttons && message.buttons.length) {
      var group = el("div", "acw-buttons");
      group.setAttribute("role", "group");
      message.buttons.forEach(function (button) {
        var b = el("button", "acw-chip", button.title);
        b.type = "button";
        b.addEventListener("click", function () { submit(button.title); });
        group.appendChild(b);
      });
      item.appendChild(group);
    }
    ui.list.appendChild(item);
    ui.log.scrollTop = ui.log.scrollHeight;
    return item;
  }

  function notice(name) {
    var item = el("li", "acw-notice", label(name));
    ui.list.appendChild(item);
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function setOffline(value) {
    if (value === offline) { return; }
    offline = value;
    ui.status.textContent = value ? label("reconnecting") : label("connected");
    ui.root.classList.toggle("acw-offline", value);
  }

  function setTyping(on) {
    ui.typing.hidden = !on;
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function showSuggestions(show) { ui.suggestions.hidden = !show || !config.suggestions.length; }

  // ---- the optional contact step (offered by the server once the conversation is flagged) ----
  var contactOffered = false;
  function offerContact() {
    var labels = config.contact;
    if (contactOffered || !labels) { return; }
    contactOffered = true;
    var item = el("li", "acw-contact");
    var form = el("form", "acw-contact-form");
    form.noValidate = true;
    form.appendChild(el("p", "acw-text", labels.prompt));
    var kinds = el("div", "acw-contact-kinds");
    kinds.setAttribute("role", "radiogroup");
    ["phone", "email"].forEach(function (kind, index) {
      var choice = el("label", "acw-contact-kind");
      var radio = el("input");
      radio.type = "radio";
      radio.name = "acw-contact-kind";
      radio.value = kind;
      radio.checked = index === 0;
      choice.appendChild(radio);
      choice.appendChild(document.createTextNode(" " + labels[kind]));
      kinds.appendChild(choice);
    });
    form.appendChild(kinds);
    var valueLabel = el("label", "acw-sr", labels.value_label);
    valueLabel.htmlFor = "acw-contact-value";
    var value = el("input", "acw-input acw-contact-value");
    value.id = "acw-contact-value";
    value.autocomplete = "tel";
    value.setAttribute("aria-describedby", "acw-contact-error");
    form.appendChild(valueLabel);
    form.appendChild(value);
    var error = el("p", "acw-contact-error");
    error.id = "acw-contact-error";
    // Announced when it changes, without a second role="alert" next to an escalation's.
    error.setAttribute("aria-live", "assertive");
    form.appendChild(error);
    var save = el("button", "acw-chip acw-contact-save", labels.save);
    save.type = "submit";
    var skip = el("button", "acw-chip", labels.skip);
    skip.type = "button";
    form.appendChild(save);
    form.appendChild(skip);
    item.appendChild(form);
    ui.list.appendChild(item);
    ui.log.scrollTop = ui.log.scrollHeight;
    skip.addEventListener("click", function () { item.remove(); ui.input.focus(); });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var kind = form.querySelector("input[name=acw-contact-kind]:checked").value;
      save.disabled = true;
      reliably("POST", "/contact", { kind: kind, value: value.value }).then(function (result) {
        save.disabled = false;
        if (result.status === 200) {
          item.textContent = "";
          item.appendChild(el("p", "acw-text", result.data.message));
          return;
        }
        error.textContent = result.data.message || label("rejected");
        value.setAttribute("aria-invalid", "true");
        value.focus();
      });
    });
  }

  // ---- conversation ----
  function renderHistory(messages) {
    messages.forEach(function (message) {
      addMessage(message, false);
    });
    showSuggestions(messages.length === 0);
  }

  function restore() {
    token = loadToken();
    if (!token) { renderHistory([]); return Promise.resolve(); }
    return reliably("POST", "/history", {}).then(function (result) {
      if (result.status === 403) {
        token = null;
        saveToken(null);
        notice("session_renewed");
        renderHistory([]);
        return;
      }
      renderHistory(result.data.messages || []);
      if (result.data.contact_offer) { offerContact(); }
    });
  }

  // Staff replies and notices arrive outside any turn: look for them every few seconds.
  function poll() {
    if (!token || sending) { return; }
    call("POST", "/history", {}).then(function (result) {
      if (result.status !== 200 || sending) { return; }
      (result.data.messages || []).forEach(function (message) {
        if (message.id && String(message.id).indexOf("outbound-") === 0 && !shownOutbound[message.id]) {
          addMessage(message, true);
        }
      });
    }).catch(function () {});
  }

  // The first attempt reached the server but its answer was lost: read it from the history.
  function repliesFromHistory(id, tries) {
    return reliably("POST", "/history", {}).then(function (result) {
      var messages = result.data.messages || [];
      var index = -1;
      messages.forEach(function (message, i) { if (message.from === "user" && message.id === id) { index = i; } });
      var replies = [];
      for (var i = index + 1; index >= 0 && i < messages.length && messages[i].from === "bot"; i += 1) {
        replies.push(messages[i]);
      }
      if (replies.length || tries <= 0) { return replies; }
      return sleep(1000).then(function () { return repliesFromHistory(id, tries - 1); });
    });
  }

  function deliver(message, renewals) {
    return ensureSession().then(function () {
      return reliably("POST", "/message", { text: message.text, id: message.id });
    }).then(function (result) {
      if (result.status === 403 && renewals > 0) {
        token = null;
        saveToken(null);
        notice("session_renewed");
        return deliver(message, renewals - 1);
      }
      if (result.status >= 400) {
        message.node.classList.add("acw-rejected");
        notice(result.data.error === "too_long" ? "too_long" : "rejected");
        return [];
      }
      if (result.data.duplicate) { return repliesFromHistory(message.id, 10); }
      if (result.data.contact_offer) { message.offerContact = true; }
      return result.data.messages || [];
    });
  }

  // An urgent or emergency reply matters more than what follows it: show its top.
  function reveal(nodes) {
    var alert = nodes.filter(function (node) { return node.classList.contains("acw-escalation"); })[0];
    if (!alert) { return; }
    ui.log.scrollTop += alert.getBoundingClientRect().top - ui.log.getBoundingClientRect().top - 8;
  }

  function pump() {
    if (sending || !queue.length) { return; }
    sending = true;
    var message = queue[0];
    setTyping(true);
    deliver(message, 1).then(function (replies) {
      message.node.classList.remove("acw-pending");
      return replies.map(function (reply) { return addMessage(reply, true); });
    }).catch(function () {
      notice("failed");
      return [];
    }).then(function (nodes) {
      queue.shift();
      sending = false;
      setTyping(queue.length > 0);
      reveal(nodes);
      if (message.offerContact) { offerContact(); }
      pump();
    });
  }

  function submit(text) {
    text = String(text || "").trim();
    if (!text) { return; }
    if (text.length > config.max_length) { notice("too_long"); return; }
    var message = { id: newId(), text: text };
    message.node = addMessage({ from: "user", text: text }, false);
    message.node.classList.add("acw-pending");
    showSuggestions(false);
    queue.push(message);
    pump();
  }

  // ---- photos (upload only: the server checks, cleans, stores and answers them) ----
  var PHOTO_SIDE = 2048;
  var photoConsent = false;
  function photoLabel(name) { return (config.photo && config.photo.labels[name]) || ""; }

  // Redrawn on a canvas: smaller, and without the camera's EXIF (location) before it is sent.
  // A photo the browser cannot draw (HEIC in most browsers) goes as it is; the server converts it.
  function downscale(file) {
    return new Promise(function (resolve) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () {
        var scale = Math.min(1, PHOTO_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
        var canvas = document.createElement("canvas");
        canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
        canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
        canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(url);
        canvas.toBlob(function (blob) { resolve(blob || file); }, "image/jpeg", 0.85);
      };
      img.onerror = function () { URL.revokeObjectURL(url); resolve(file); };
      img.src = url;
    });
  }

  function base64Of(blob) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(String(reader.result).split(",")[1] || ""); };
      reader.onerror = reject;
      reader.readAsDataURL(blob);
    });
  }

  // A photo from the history (after a reload): fetched with the session token, shown from memory.
  function showPhoto(item, id) {
    var thumb = el("img", "acw-photo");
    thumb.alt = photoLabel("photo_alt");
    item.appendChild(thumb);
    fetch(BASE + "/photo/" + encodeURIComponent(id) + "/thumbnail", {
      method: "POST", cache: "no-store", credentials: "omit",
      headers: { "Content-Type": "text/plain;charset=UTF-8" }, body: JSON.stringify({ token: token })
    }).then(function (response) {
      if (!response.ok) { throw new Error("photo " + response.status); }
      return response.blob();
    }).then(function (blob) { thumb.src = URL.createObjectURL(blob); }).catch(function () {});
  }

  function sendPhoto(file) {
    var caption = ui.input.value.trim();
    ui.input.value = "";
    showSuggestions(false);
    setTyping(true);
    return downscale(file).then(function (blob) {
      var item = addMessage({ from: "user", text: caption }, false);
      var thumb = el("img", "acw-photo");
      thumb.alt = photoLabel("photo_alt");
      thumb.src = URL.createObjectURL(blob);
      item.appendChild(thumb);
      item.classList.add("acw-pending");
      return ensureSession().then(function () { return base64Of(blob); }).then(function (data) {
        return reliably("POST", "/photo", { id: newId(), image: data, caption: caption, consent: photoConsent });
      }).then(function (result) {
        item.classList.remove("acw-pending");
        if (result.status >= 400) {
          item.classList.add("acw-rejected");
          addMessage({ from: "bot", text: result.data.message || label("rejected") }, true);
          return;
        }
        (result.data.messages || []).forEach(function (reply) { addMessage(reply, true); });
      });
    }).catch(function () { notice("failed"); }).then(function () { setTyping(false); });
  }

  function buildPhoto(form) {
    if (!config.photo) { return; }
    var file = el("input", "acw-file");
    file.type = "file";
    file.accept = "image/*";
    file.setAttribute("capture", "environment");
    file.hidden = true;
    var attach = el("button", "acw-attach", photoLabel("attach_button"));
    attach.type = "button";
    var consent = el("div", "acw-consent");
    consent.setAttribute("role", "group");
    consent.hidden = true;
    paragraphs(consent, config.photo.consent);
    var agree = el("button", "acw-chip acw-consent-accept", photoLabel("consent_accept"));
    agree.type = "button";
    var later = el("button", "acw-chip", photoLabel("consent_cancel"));
    later.type = "button";
    consent.appendChild(agree);
    consent.appendChild(later);
    attach.addEventListener("click", function () {
      if (photoConsent) { file.click(); } else { consent.hidden = false; agree.focus(); }
    });
    agree.addEventListener("click", function () { photoConsent = true; consent.hidden = true; file.click(); });
    later.addEventListener("click", function () { consent.hidden = true; attach.focus(); });
    file.addEventListener("change", function () {
      if (file.files && file.files[0]) { sendPhoto(file.files[0]); }
      file.value = "";
    });
    form.parentNode.insertBefore(consent, form);
    form.insertBefore(attach, form.lastChild);
    form.appendChild(file);
  }

  // ---- layout ----
  function build() {
    var root = el("div", "acw");
    root.id = "aftercare-widget";
    ui.root = root;

    var launcher = el("button", "acw-launcher", label("open_button"));
    launcher.type = "button";
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-controls", "acw-panel");
    ui.launcher = launcher;

    var panel = el("section", "acw-panel");
    panel.id = "acw-panel";
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-labelledby", "acw-title");
    panel.hidden = true;
    ui.panel = panel;

    var header = el("header", "acw-header");
    var title = el("h2", "acw-title", label("title"));
    title.id = "acw-title";
    header.appendChild(title);
    header.appendChild(el("p", "acw-subtitle", label("subtitle")));
    var close = el("button", "acw-close", "\u00d7");
    close.type = "button";
    close.setAttribute("aria-label", label("close_button"));
    header.appendChild(close);
    panel.appendChild(header);

    // A polite log that announces additions only (not the whole history again), around a
    // real list (<li> needs an <ol>; role="log" is not allowed on one). It scrolls, so it
    // takes keyboard focus to be scrolled without a mouse.
    var log = attrs(el("div", "acw-log"), {
      role: "log", "aria-live": "polite", "aria-relevant": "additions", "aria-atomic": "false",
      "aria-label": label("title")
    });
    log.tabIndex = 0;
    var list = el("ol", "acw-list");
    log.appendChild(list);
    ui.log = log;
    ui.list = list;
    panel.appendChild(log);

    var typing = attrs(el("div", "acw-typing"), {role: "status"});
    typing.appendChild(el("span", "acw-dots"));
    typing.appendChild(el("span", "acw-typing-text", label("typing")));
    typing.hidden = true;
    ui.typing = typing;
    panel.appendChild(typing);

    var suggestions = attrs(el("div", "acw-suggestions"), {role: "group", "aria-label": label("suggestions_label")});
    config.suggestions.forEach(function (text) {
      var chip = el("button", "acw-chip", text);
      chip.type = "button";
      chip.addEventListener("click", function () { submit(text); });
      suggestions.appendChild(chip);
    });
    suggestions.hidden = true;
    ui.suggestions = suggestions;
    panel.appendChild(suggestions);

    var status = attrs(el("div", "acw-status"), {role: "status", "aria-live": "polite"});
    ui.status = status;
    panel.appendChild(status);

    var form = el("form", "acw-form");
    var inputLabel = el("label", "acw-sr", label("input_label"));
    inputLabel.htmlFor = "acw-input";
    var input = el("input", "acw-input");
    input.id = "acw-input";
    input.type = "text";
    input.autocomplete = "off";
    input.maxLength = config.max_length;
    input.placeholder = label("input_placeholder");
    var send = el("button", "acw-send", label("send_button"));
    send.type = "submit";
    form.appendChild(inputLabel);
    form.appendChild(input);
    form.appendChild(send);
    ui.input = input;
    panel.appendChild(form);
    buildPhoto(form);

    root.appendChild(panel);
    root.appendChild(launcher);
    document.body.appendChild(root);

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value;
      input.value = "";
      submit(text);
      input.focus();
    });
    launcher.addEventListener("click", function () { toggle(true); });
    close.addEventListener("click", function () { toggle(false); });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape" || event.key === "Esc") {
        event.preventDefault();
        toggle(false);
      }
    });
  }

  function toggle(open) {
    ui.panel.hidden = !open;
    ui.launcher.hidden = open;
    ui.launcher.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) { ui.input.focus(); } else { ui.launcher.focus(); }
  }

  function start() {
    var css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = BASE + "/static/widget.css";
    document.head.appendChild(css);
    reliably("GET", "/config").then(function (result) {
      config = result.data;
      build();
      return restore();
    }).then(function () {
      ui.root.setAttribute("data-ready", "true");
      setInterval(poll, POLL_MS);
      if (script.getAttribute("data-open") === "true") { toggle(true); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
