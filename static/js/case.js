// Case page: a text template fills the reason box (the page works without this script).
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-template]");
  if (!button) return;
  var reason = document.getElementById("reason");
  reason.value = reason.value ? reason.value + "\n" + button.dataset.template : button.dataset.template;
  reason.focus();
});
