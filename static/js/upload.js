// Upload forms (form[data-upload]): the chosen files are checked against the limits the server
// states (data-max-total, data-max-file, data-accept) before anything is sent; a form with files
// is sent with XMLHttpRequest behind a progress bar, and a refusal (413, 400, 422 ...) is shown
// on the page with every typed field and every chosen file kept. The texts come from the form's
// data-msg-* attributes, translated by the server. Without this script the forms post as usual.
(function () {
  "use strict";

  var counter = 0;

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : all;
    });
  }

  function sizeText(bytes) {
    var units = [[1024 * 1024, "MB"], [1024, "KB"]];
    for (var i = 0; i < units.length; i++) {
      if (bytes >= units[i][0]) {
        var value = bytes / units[i][0];
        return (value === Math.floor(value) ? String(value) : value.toFixed(1)) + " " + units[i][1];
      }
    }
    return bytes + " B";
  }

  function utf8Length(text) {
    return new Blob([text]).size;
  }

  function fileInputs(form) {
    return Array.prototype.slice.call(form.querySelectorAll("input[type=file]"));
  }

  function chosenFiles(form) {
    var files = [];
    fileInputs(form).forEach(function (input) {
      Array.prototype.forEach.call(input.files || [], function (file) { files.push(file); });
    });
    return files;
  }

  // --- messages beside the fields --------------------------------------------------------------

  function describedBy(input, id, on) {
    var ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    ids = ids.filter(function (x) { return x !== id; });
    if (on) ids.unshift(id);
    if (ids.length) input.setAttribute("aria-describedby", ids.join(" "));
    else input.removeAttribute("aria-describedby");
  }

  function fieldMessage(input, messages) {
    var id = input.id + "-upload-error";
    var box = document.getElementById(id);
    if (!messages.length) {
      if (box) box.remove();
      describedBy(input, id, false);
      if (!input.closest(".has-error")) input.setAttribute("aria-invalid", "false");
      return;
    }
    if (!box) {
      // The alert holds the list: a list with role=alert would be no list to assistive technology.
      box = document.createElement("div");
      box.id = id;
      box.setAttribute("role", "alert");
      var list = document.createElement("ul");
      list.className = "field-errors upload-error";
      box.append(list);
      input.insertAdjacentElement("afterend", box);
    }
    box.firstChild.replaceChildren.apply(box.firstChild, messages.map(function (text) {
      var item = document.createElement("li");
      item.textContent = text;
      return item;
    }));
    input.setAttribute("aria-invalid", "true");
    var hint = document.getElementById(input.id + "-hint");
    if (hint) describedBy(input, hint.id, true);
    describedBy(input, id, true);  // the problem first, then the rule
  }

  function fileProblems(form, input) {
    var data = form.dataset, problems = [];
    var maxFile = Number(data.maxFile) || Infinity;
    var accepted = (data.accept || "").split(",").map(function (x) { return x.trim().toLowerCase(); })
      .filter(function (x) { return x.charAt(0) === "."; });
    Array.prototype.forEach.call(input.files || [], function (file) {
      var dot = file.name.lastIndexOf(".");
      var suffix = dot > 0 ? file.name.slice(dot).toLowerCase() : "";
      // A name without a suffix may still be a PDF: the server looks at the content.
      if (accepted.length && suffix && accepted.indexOf(suffix) < 0) {
        problems.push(fill(data.msgType, { name: file.name }));
      } else if (file.size === 0) {
        problems.push(fill(data.msgEmpty, { name: file.name }));
      } else if (file.size > maxFile) {
        problems.push(fill(data.msgFile, { name: file.name, size: sizeText(file.size) }));
      }
    });
    return problems;
  }

  // The request's size as the server counts it: the files, the fields, the multipart framing.
  function requestSize(form) {
    var size = 0, parts = 0;
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!element.name || element.disabled) return;
      if (element.type === "file") {
        Array.prototype.forEach.call(element.files || [], function (file) {
          size += file.size + utf8Length(file.name);
          parts += 1;
        });
      } else if ((element.type !== "checkbox" && element.type !== "radio") || element.checked) {
        size += utf8Length(element.value || "");
        parts += 1;
      }
    });
    return size + parts * 200 + 100;
  }

  // Every input's own problems beside it, the total's at the form's status; whether all is well.
  function check(form) {
    var first = null;
    fileInputs(form).forEach(function (input) {
      var problems = fileProblems(form, input);
      fieldMessage(input, problems);
      if (problems.length && !first) first = input;
    });
    var maxTotal = Number(form.dataset.maxTotal) || Infinity;
    var total = chosenFiles(form).reduce(function (sum, file) { return sum + file.size; }, 0);
    if (!first && requestSize(form) > maxTotal) {
      var inputs = fileInputs(form).filter(function (input) { return input.files && input.files.length; });
      first = inputs[inputs.length - 1];
      fieldMessage(first, [fill(form.dataset.msgTotal, { size: sizeText(total) })]);
    }
    return first;
  }

  // --- the status area: progress, what the server said ------------------------------------------

  function statusArea(form) {
    var area = form.querySelector(".upload-status");
    if (area) return area;
    var n = ++counter;
    area = document.createElement("div");
    area.className = "upload-status";
    var progress = document.createElement("div");
    progress.className = "upload-progress";
    progress.hidden = true;
    var label = document.createElement("label");
    label.setAttribute("for", "upload-progress-" + n);
    label.textContent = form.dataset.msgProgress;
    var bar = document.createElement("progress");
    bar.id = "upload-progress-" + n;
    bar.max = 100;
    bar.value = 0;
    progress.append(label, " ", bar);
    var live = document.createElement("p");
    live.className = "upload-live";
    live.setAttribute("role", "status");
    live.setAttribute("aria-live", "polite");
    var alert = document.createElement("div");
    alert.className = "upload-alert";
    alert.setAttribute("role", "alert");
    area.append(progress, live, alert);
    var buttons = form.querySelector(".actions") || form.querySelector("button[type=submit], button:not([type])");
    if (buttons) buttons.insertAdjacentElement("beforebegin", area);
    else form.append(area);
    return area;
  }

  function setBusy(form, busy) {
    if (busy && form.getAttribute("aria-busy") !== null) return;  // busy already (a form sent again)
    if (busy) form.setAttribute("aria-busy", "true");
    else form.removeAttribute("aria-busy");
    form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]").forEach(function (button) {
      if (busy) {
        button.dataset.uploadWasDisabled = button.disabled ? "1" : "";
        button.disabled = true;
      } else {
        button.disabled = button.dataset.uploadWasDisabled === "1";
        delete button.dataset.uploadWasDisabled;
      }
    });
  }

  function showRefusal(form, lines) {
    var area = statusArea(form);
    area.querySelector(".upload-progress").hidden = true;
    area.querySelector(".upload-live").textContent = "";
    var alert = area.querySelector(".upload-alert");
    var box = document.createElement("div");
    box.className = "errors";
    box.tabIndex = -1;
    [form.dataset.msgRefused].concat(lines, [form.dataset.msgKept]).forEach(function (text, i) {
      var p = document.createElement("p");
      if (i === 0) {
        var strong = document.createElement("strong");
        strong.textContent = text;
        p.append(strong);
      } else {
        p.textContent = text;
      }
      box.append(p);
    });
    alert.replaceChildren(box);
    box.focus();
  }

  function words(node) {
    return node.textContent.replace(/\s+/g, " ").trim();
  }

  // What a page without the form says: an error page's title and explanation (413, an expired
  // form's 400, 500, 503 ...), else the page's error messages, else its heading.
  function serverWords(doc, status) {
    var lines = [], page = doc.querySelector("[data-error-message], main .error-page");
    if (page) {
      page.querySelectorAll("h1, p").forEach(function (node) {
        if (!node.classList.contains("status-code") && !node.querySelector("a")) lines.push(words(node));
      });
    } else {
      doc.querySelectorAll("main .errors, main .field-errors, main [role=alert]").forEach(function (node) {
        if (!node.parentElement.closest(".errors, .field-errors, [role=alert]")) lines.push(words(node));
      });
      var heading = doc.querySelector("main h1, h1, title");
      if (!lines.length && heading) lines.push(words(heading));
    }
    lines = lines.filter(Boolean);
    return lines.length ? lines : [String(status)];
  }

  // A refusal whose page holds the form again (the server's messages beside its fields, what was
  // typed filled in): that page's content, with this page's file inputs and the files in them.
  function showRefusedPage(form, doc) {
    var forms = Array.prototype.slice.call(document.querySelectorAll("form[data-upload]"));
    var again = doc.querySelectorAll("form[data-upload]")[forms.indexOf(form)];
    var main = document.querySelector("main"), theirs = doc.querySelector("main");
    if (!again || !main || !theirs) return null;
    var kept = {};
    fileInputs(form).forEach(function (input) { kept[input.name] = input; });
    main.replaceChildren.apply(main, Array.prototype.slice.call(theirs.childNodes).map(function (node) {
      return document.adoptNode(node);  // a copy of the list first: adopting takes each out of it
    }));
    document.title = doc.title;
    var fresh = document.querySelectorAll("form[data-upload]")[forms.indexOf(form)];
    fileInputs(fresh).forEach(function (input) {
      var old = kept[input.name];
      if (!old) return;
      Array.prototype.slice.call(old.attributes).forEach(function (a) {
        if (a.name !== "type") old.removeAttribute(a.name);
      });
      Array.prototype.forEach.call(input.attributes, function (a) { old.setAttribute(a.name, a.value); });
      input.replaceWith(old);
    });
    prepare(fresh);
    var alert = main.querySelector("[role=alert], .errors, .field-errors");
    if (alert) {
      if (!alert.hasAttribute("tabindex")) alert.tabIndex = -1;
      alert.focus();
    }
    return fresh;
  }

  // What the browser would have shown: the page the server answered with, at its address.
  function showPage(xhr, html) {
    history.replaceState(null, "", xhr.responseURL || location.href);
    document.open();
    document.write(html);
    document.close();
  }

  function isHtml(xhr) {
    return /^text\/html/i.test(xhr.getResponseHeader("Content-Type") || "");
  }

  // A file the server sends to be saved (an import's report of problems): saved, whatever the
  // status (the browser itself would show an error page for one sent with a 422).
  function attachmentName(xhr) {
    var disposition = xhr.getResponseHeader("Content-Disposition") || "";
    if (!/^\s*attachment/i.test(disposition)) return null;
    var encoded = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(disposition);
    if (encoded) return decodeURIComponent(encoded[1]);
    var plain = /filename\s*=\s*"?([^";]+)"?/i.exec(disposition);
    return plain ? plain[1] : "download";
  }

  function save(form, blob, name) {
    var url = URL.createObjectURL(blob), link = document.createElement("a");
    link.href = url;
    link.download = name;
    link.hidden = true;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
    var area = statusArea(form);
    area.querySelector(".upload-progress").hidden = true;
    area.querySelector(".upload-live").textContent = fill(form.dataset.msgSaved, { name: name });
  }

  // A form token that expired while the files were chosen (the form stood open for hours): the
  // refusal carries a new one; every form of the page takes it and the form is sent again, once,
  // with the same fields and files (a reload would lose the files).
  function renewedToken(form, doc, again) {
    var fresh = doc && doc.querySelector("[data-fresh-csrf-token]");
    var input = form.querySelector("input[name=csrf_token]");
    if (!fresh || !input || !again) return false;
    document.querySelectorAll("input[name=csrf_token]").forEach(function (each) {
      each.value = fresh.dataset.freshCsrfToken;
    });
    return true;
  }

  function answered(form, xhr, html, submitter, retried) {
    if (xhr.status >= 200 && xhr.status < 300 && html !== null) {
      showPage(xhr, html);
      return;
    }
    var doc = html !== null ? new DOMParser().parseFromString(html, "text/html") : null;
    if (xhr.status === 400 && renewedToken(form, doc, !retried)) {
      send(form, submitter, true);
      return;
    }
    setBusy(form, false);
    if (doc && xhr.status >= 400 && xhr.status < 500 && showRefusedPage(form, doc)) return;
    showRefusal(form, doc ? serverWords(doc, xhr.status) : [String(xhr.status) + " " + xhr.statusText]);
  }

  function send(form, submitter, retried) {
    var data = new FormData(form);
    if (submitter && submitter.name && !data.has(submitter.name)) data.append(submitter.name, submitter.value);
    var area = statusArea(form);
    var progress = area.querySelector(".upload-progress"), bar = area.querySelector("progress");
    var live = area.querySelector(".upload-live");
    area.querySelector(".upload-alert").replaceChildren();
    bar.value = 0;
    progress.hidden = false;
    live.textContent = fill(form.dataset.msgSending, { percent: "0" });
    setBusy(form, true);
    var announced = 0;

    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.responseType = "blob";  // a page to show, or a file to save
    xhr.setRequestHeader("Accept", "text/html");
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    xhr.upload.addEventListener("progress", function (event) {
      if (!event.lengthComputable) return;
      var percent = Math.floor(event.loaded * 100 / event.total);
      bar.value = percent;
      if (percent >= announced + 25 || percent === 100) {  // a screen reader hears every quarter
        announced = percent - percent % 25;
        live.textContent = fill(form.dataset.msgSending, { percent: String(percent) });
      }
    });
    xhr.upload.addEventListener("load", function () {
      bar.value = 100;
      live.textContent = form.dataset.msgSent;
    });
    xhr.addEventListener("load", function () {
      var name = attachmentName(xhr);
      if (name) {
        setBusy(form, false);
        save(form, xhr.response, name);
      } else if (isHtml(xhr)) {
        xhr.response.text().then(function (html) { answered(form, xhr, html, submitter, retried); });
      } else {
        answered(form, xhr, null, submitter, retried);
      }
    });
    xhr.addEventListener("error", function () {
      setBusy(form, false);
      showRefusal(form, [form.dataset.msgFailed]);
    });
    xhr.addEventListener("abort", function () {
      setBusy(form, false);
      showRefusal(form, [form.dataset.msgFailed]);
    });
    xhr.send(data);
  }

  function prepare(form) {
    if (!form || form.dataset.uploadReady) return;
    form.dataset.uploadReady = "1";
    statusArea(form);
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("form[data-upload] input[type=file]")) return;
    var form = input.form;
    check(form);
    statusArea(form).querySelector(".upload-alert").replaceChildren();
  });

  // Registered after the page's other scripts: a step they asked about and the user declined
  // (case.js) arrives here already prevented, and is not sent.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !form.matches("form[data-upload]")) return;
    var wrong = check(form);
    if (wrong) {
      event.preventDefault();
      wrong.focus();
      return;
    }
    if (form.getAttribute("aria-busy") !== null) {  // already on its way
      event.preventDefault();
      return;
    }
    if (!chosenFiles(form).length || typeof FormData === "undefined") return;  // sent as usual
    event.preventDefault();
    send(form, event.submitter);
  });

  function start() {
    document.querySelectorAll("form[data-upload]").forEach(prepare);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
