// Copy buttons: a button with `data-copy="ID"` copies the text of the element with that
// id. Served as a file (no inline script), so pages work under a strict
// Content-Security-Policy; without JavaScript the text is there to select by hand.
document.addEventListener("click", function (event) {
  var button = event.target.closest("button[data-copy]");
  if (!button) {
    return;
  }
  var source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) {
    return;
  }
  navigator.clipboard.writeText(source.textContent).then(function () {
    button.textContent = "Copied";
  });
});
