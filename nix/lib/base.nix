# Small helpers the other files share, builtins only: nix/lib must evaluate with a bare
# `nix-instantiate --eval` (no nixpkgs), so the decisions can be tested anywhere.
let
  inherit (builtins)
    all attrNames concatStringsSep elem filter foldl' genList head isAttrs isList length
    listToAttrs replaceStrings stringLength substring tail;

  chars = text: genList (i: substring i 1 text) (stringLength text);

  digits = {
    "0" = 0;
    "1" = 1;
    "2" = 2;
    "3" = 3;
    "4" = 4;
    "5" = 5;
    "6" = 6;
    "7" = 7;
    "8" = 8;
    "9" = 9;
  };

  # Decimal digits to an integer; leading zeros are fine ("05" -> 5).
  toInt = text:
    if text == "" || !all (c: digits ? ${c}) (chars text)
    then throw "not a decimal number: \"${text}\""
    else foldl' (n: c: n * 10 + digits.${c}) 0 (chars text);

  mod = a: b: a - (a / b) * b;

  pow = base: exponent: if exponent == 0 then 1 else base * pow base (exponent - 1);

  unique = list: foldl' (seen: x: if elem x seen then seen else seen ++ [ x ]) [ ] list;

  optional = condition: x: if condition then [ x ] else [ ];

  optionalAttrs = condition: attrs: if condition then attrs else { };

  # The right side wins; attribute sets merge recursively, anything else is replaced.
  recursiveUpdate = left: right:
    left // listToAttrs (map
      (name: {
        inherit name;
        value =
          if left ? ${name} && isAttrs left.${name} && isAttrs right.${name}
          then recursiveUpdate left.${name} right.${name}
          else right.${name};
      })
      (attrNames right));

  # POSIX shell quoting: one word, whatever it holds.
  shellQuote = word: "'" + replaceStrings [ "'" ] [ "'\\''" ] word + "'";

  shellWords = words: concatStringsSep " " (map shellQuote words);

  hasPrefix = prefix: text: substring 0 (stringLength prefix) text == prefix;

  # The last path component ("/nix/store/x/bin/Discord" -> "Discord").
  baseName = path:
    let parts = filter (p: p != "" && !isList p) (builtins.split "/" path);
    in if parts == [ ] then path else builtins.elemAt parts (length parts - 1);

  firstOr = fallback: list: if list == [ ] then fallback else head list;

  # Sorted by a key function, stable enough for attribute names (all distinct).
  sortOn = key: list: builtins.sort (a: b: key a < key b) list;

  count = predicate: list: length (filter predicate list);
in
{
  inherit chars toInt mod pow unique optional optionalAttrs recursiveUpdate shellQuote
    shellWords hasPrefix baseName firstOr sortOn count tail;
}
