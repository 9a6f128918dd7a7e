// A password link's page: the token is in the form's hidden field; take it out of the address
// bar and the browser history, so it is not shown, bookmarked or synchronised (issue 13).
(function () {
  var form = document.querySelector("form[data-replace-address]");
  if (form && window.history && window.history.replaceState) {
    window.history.replaceState(null, "", form.getAttribute("action"));
  }
})();
