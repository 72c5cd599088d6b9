/* Statistics page: apply a selector as soon as it changes, colour the legend swatches
   (inline style attributes are not allowed by the page's Content-Security-Policy, a
   script from the app may set them). The charts are SVG made on the server. */
(function () {
  "use strict";
  var form = document.getElementById("fm-stats-form");
  if (form) {
    var selects = form.querySelectorAll("select");
    for (var i = 0; i < selects.length; i++) {
      selects[i].addEventListener("change", function (event) {
        if (event.target.name === "period") {
          var custom = form.querySelector("input[name=custom]");
          if (custom) { custom.value = ""; }
        }
        form.submit();
      });
    }
  }
  var swatches = document.querySelectorAll(".fm-swatch[data-colour]");
  for (var j = 0; j < swatches.length; j++) {
    var colour = swatches[j].getAttribute("data-colour");
    if (/^#[0-9a-fA-F]{6}$/.test(colour)) { swatches[j].style.backgroundColor = colour; }
  }
})();
