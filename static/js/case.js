// Case page: a text template fills the reason box (the page works without this script).
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-template]");
  if (!button) return;
  var reason = document.getElementById("reason");
  reason.value = reason.value ? reason.value + "\n" + button.dataset.template : button.dataset.template;
  reason.focus();
});

// A step that cannot be undone (a decision, a withdrawal, a close) asks before it is sent.
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) event.preventDefault();
});
