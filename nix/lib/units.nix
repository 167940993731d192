# Sizes and CPU quotas as ballast writes them ("1.5G", "512M", "150%"), builtins only.
# parseSize follows ballast's ByteSize::parse (src/profile/units.rs: base 1024, K/M/G/T,
# optional "iB"/"B", decimals, integers are bytes); formatSize follows its Display (the
# shortest exact form, one decimal only when exact), so sizes round-trip between the two.
let
  inherit (builtins) isInt isString match elemAt floor stringLength toString;
  base = import ./base.nix;
  inherit (base) toInt mod pow;

  scales = {
    "" = 1;
    K = 1024;
    M = 1048576;
    G = 1073741824;
    T = 1099511627776;
  };
  upper = {
    "" = "";
    k = "K";
    K = "K";
    m = "M";
    M = "M";
    g = "G";
    G = "G";
    t = "T";
    T = "T";
  };

  parseSize = size:
    if isInt size then size
    else if !isString size then throw "a size like \"512M\", \"1.5G\" or 4096 (bytes), found a ${builtins.typeOf size}"
    else
      let
        m = match "[[:space:]]*([0-9]*)(\\.([0-9]*))?[[:space:]]*([KkMmGgTt]?)(i?B)?[[:space:]]*" size;
        whole = elemAt m 0;
        fraction = if elemAt m 2 == null then "" else elemAt m 2;
        scale = scales.${upper.${elemAt m 3}};
      in
      if m == null || (whole == "" && elemAt m 1 == null) || (whole == "" && fraction == "")
      then throw "a size like \"512M\", \"1.5G\" or \"4096\" (bytes), found \"${size}\""
      else
        (if whole == "" then 0 else toInt whole) * scale
        + (if fraction == "" then 0 else toInt fraction * scale / pow 10 (stringLength fraction));

  formatSize = bytes:
    let
      try = units:
        if units == [ ] then toString bytes
        else
          let
            unit = builtins.head units;
            scale = scales.${unit};
          in
          if bytes >= scale && mod bytes scale == 0 then "${toString (bytes / scale)}${unit}"
          else if bytes >= scale && mod (bytes * 10) scale == 0
          then "${toString (bytes / scale)}.${toString (mod (bytes * 10 / scale) 10)}${unit}"
          else try (builtins.tail units);
    in
    try [ "T" "G" "M" "K" ];

  parseQuota = quota:
    let m = match "[[:space:]]*([0-9]+)[[:space:]]*%[[:space:]]*" quota;
    in
    if m == null then throw "a CPU quota like \"150%\" (percent of one CPU), found \"${quota}\""
    else if toInt (elemAt m 0) == 0 then throw "a CPU quota must be above 0%, found \"${quota}\""
    else toInt (elemAt m 0);

  formatQuota = percent: "${toString percent}%";

  # A fraction (0.75) as a whole percentage (75), rounded to the nearest.
  percent = fraction: floor (fraction * 100 + 0.5);

  # bytes * numerator / denominator, in whole bytes.
  scaleSize = size: numerator: denominator: parseSize size * numerator / denominator;
in
{
  inherit parseSize formatSize parseQuota formatQuota percent scaleSize;
}
