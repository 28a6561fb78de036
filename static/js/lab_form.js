/*
 * The lab result form: choosing an analyte offers only its units, and fills the reference
 * range from the patient's last result of that analyte (a range the user typed is kept).
 *
 * The data come from <script type="application/json" id="lab-form-data"> (json_script):
 * {"units": {"ALT": [["U/L", "U/L"]], ...}, "last": {"ALT": {"unit", "low", "high"}, ...}}.
 * The server checks the pair again: this only spares the user a refused form.
 */
(function () {
  "use strict";

  function setup() {
    var source = document.getElementById("lab-form-data");
    var analyte = document.getElementById("id_analyte");
    var unit = document.getElementById("id_unit");
    var low = document.getElementById("id_reference_low");
    var high = document.getElementById("id_reference_high");
    if (!source || !analyte || !unit || !low || !high) {
      return;
    }
    var data = JSON.parse(source.textContent);
    // What the page itself filled in: replaced on a change, unlike what the user typed.
    var filled = { low: low.value, high: high.value };

    function showUnits(code, chosen) {
      var units = data.units[code] || [];
      unit.replaceChildren();
      units.forEach(function (pair) {
        var option = document.createElement("option");
        option.value = pair[0];
        option.textContent = pair[1];
        option.selected = pair[0] === chosen;
        unit.appendChild(option);
      });
    }

    function fill(input, key, value) {
      if (input.value === "" || input.value === filled[key]) {
        input.value = value;
        filled[key] = value;
      }
    }

    analyte.addEventListener("change", function () {
      var last = data.last[analyte.value];
      showUnits(analyte.value, last ? last.unit : null);
      fill(low, "low", last ? last.low : "");
      fill(high, "high", last ? last.high : "");
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
