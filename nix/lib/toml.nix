# A TOML writer, builtins only (pkgs.formats.toml needs a build; this is plain evaluation,
# so tests/nix_profile.rs can feed its output straight to `ballast --profile`).
# Tables become [headers], lists of tables [[array tables]], other lists inline arrays;
# null values are left out; store paths (derivations) are written as strings.
let
  inherit (builtins)
    all attrNames concatStringsSep filter isAttrs isBool isFloat isInt isList isString
    match toJSON toString typeOf;

  isPath = v: isAttrs v && v ? outPath;
  isTable = v: isAttrs v && !isPath v;
  isTableArray = v: isList v && v != [ ] && all isTable v;

  key = k: if match "[A-Za-z0-9_-]+" k != null then k else toJSON k;
  dotted = path: concatStringsSep "." (map key path);

  float = f:
    let text = toJSON f;
    in if match ".*[.eE].*" text != null then text else "${text}.0";

  value = v:
    # JSON's string escapes (\" \\ \n \t \uXXXX) are TOML basic-string escapes too.
    if isString v then toJSON v
    else if isBool v then (if v then "true" else "false")
    else if isInt v then toString v
    else if isFloat v then float v
    else if isPath v then toJSON (toString v)
    else if isList v then "[" + concatStringsSep ", " (map value v) + "]"
    else if isAttrs v then "{ " + concatStringsSep ", " (map (n: "${key n} = ${value v.${n}}") (attrNames v)) + " }"
    else throw "TOML cannot hold a ${typeOf v}";

  # A table's blocks: its own key = value lines, then one block per sub-table and per
  # element of each array of tables. A table with only sub-tables gets no header of its own.
  blocks = path: header: attrs:
    let
      names = filter (n: attrs.${n} != null) (attrNames attrs);
      # `id` first: it names an array table's entry.
      plain = filter (n: n == "id") names ++ filter (n: n != "id" && !isTable attrs.${n} && !isTableArray attrs.${n}) names;
      tables = filter (n: isTable attrs.${n}) names;
      arrays = filter (n: isTableArray attrs.${n}) names;
      lines = concatStringsSep "" (map (n: "${key n} = ${value attrs.${n}}\n") plain);
      own =
        if header == null then (if lines == "" then [ ] else [ lines ])
        else if plain == [ ] && (tables != [ ] || arrays != [ ]) && header.implicit then [ ]
        else [ "${header.text}\n${lines}" ];
      sub = n: blocks (path ++ [ n ]) { text = "[${dotted (path ++ [ n ])}]"; implicit = true; } attrs.${n};
      items = n: builtins.concatMap
        (item: blocks (path ++ [ n ]) { text = "[[${dotted (path ++ [ n ])}]]"; implicit = false; } item)
        attrs.${n};
    in
    own ++ builtins.concatMap sub tables ++ builtins.concatMap items arrays;
in
{
  inherit value;

  toTOML = attrs:
    if !isTable attrs then throw "a TOML document is a table (an attribute set)"
    else concatStringsSep "\n" (blocks [ ] null attrs);
}
