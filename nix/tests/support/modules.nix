# A stand-in for the NixOS/home-manager module system, builtins only, so that
# nix-instantiate can evaluate ballast's modules where nixpkgs cannot be fetched. It has the
# parts of nixpkgs' `lib` the modules use and a small evaluator: imports (each path once),
# option defaults, definitions with priorities (mkDefault, mkForce), mkIf and mkMerge pushed
# down to each value, lists concatenated, attribute sets merged.
#
# Types check as nixpkgs' lib.types do (listOf, attrsOf, either, oneOf, coercedTo, nullOr,
# enum, submodule), and an option's `apply` runs on its merged value: a module that hands a
# string to a list option fails here as it fails under the real module system. Options of
# NixOS are not declared here, so any path may be defined there; the home-manager options
# ballast's modules touch are declared, with home-manager's own types and behaviour, in
# home-manager.nix beside this file. The flake's checks evaluate the modules with nixpkgs and
# home-manager themselves.
let
  inherit (builtins)
    all attrNames concatMap concatStringsSep elem filter foldl' head isAttrs isFunction
    isList isPath isString length listToAttrs tail toJSON;
  base = import ../../lib/base.nix;

  store = name: "/nix/store/00000000000000000000000000000000-${name}";

  # A package: enough for "${pkg}", lib.getExe and meta.priority, with nixpkgs' mainProgram.
  package = name: {
    type = "derivation";
    inherit name;
    pname = name;
    outPath = store name;
    meta.mainProgram = (import ./main-programs.nix).${name} or name;
  };

  stubPkgs = listToAttrs
    (map (name: { inherit name; value = package name; }) [
      "ballast"
      "nvidia-vaapi-driver"
      "libvdpau-va-gl"
      "libva-vdpau-driver"
      "teams-for-linux"
      "discord"
      "discord-ptb"
      "spotify"
      "vscodium"
      "signal-desktop"
      "zoom-us"
      "obsidian"
    ]) // {
    writeText = name: text: package name // { inherit text; };
    runCommand = name: env: script: package name // { inherit env script; };
    callPackage = _: _: package "ballast";
    formats.toml = _: { type = "toml"; };
    runtimeShell = "${store "bash"}/bin/bash";
  };

  # A type: its description (as the real module system's error messages print it) and a check.
  type = name: check: { _type = "type"; inherit name check; };
  isPackage = v: isAttrs v && (v.type or null) == "derivation";
  primitive = {
    bool = type "boolean" builtins.isBool;
    int = type "signed integer" builtins.isInt;
    str = type "string" isString;
    path = type "path" (v: isPath v || isPackage v || (isString v && builtins.substring 0 1 v == "/"));
    attrs = type "attribute set" isAttrs;
    package = type "package" isPackage;
    anything = type "anything" (_: true);
  };

  lib = rec {
    mkOption = attrs: attrs // { _type = "option"; };
    mkEnableOption = what: mkOption { type = types.bool; default = false; description = "Whether to enable ${what}."; };
    mkIf = condition: content: { _type = "if"; inherit condition content; };
    mkMerge = contents: { _type = "merge"; inherit contents; };
    mkOverride = priority: content: { _type = "override"; inherit priority content; };
    mkDefault = mkOverride 1000;
    mkForce = mkOverride 50;
    literalExpression = text: { _type = "literalExpression"; inherit text; };
    types = primitive // rec {
      ints.positive = type "positive integer, meaning >0" (v: builtins.isInt v && v > 0);
      lines = primitive.str;
      attrsOf = t: type "attribute set of ${t.name}" (v: isAttrs v && all t.check (builtins.attrValues v)) // { elem = t; };
      listOf = t: type "list of ${t.name}" (v: isList v && all t.check v);
      nullOr = t: type "null or ${t.name}" (v: v == null || t.check v);
      enum = values: type "one of ${concatStringsSep ", " (map toJSON values)}" (v: elem v values);
      either = a: b: type "${a.name} or ${b.name}" (v: a.check v || b.check v);
      oneOf = ts: foldl' either (head ts) (tail ts);
      # A `from` value is converted with f before the definition is used.
      coercedTo = from: f: to: type "${to.name} or ${from.name} convertible to it" (v: from.check v || to.check v)
        // { coerce = v: if from.check v && !(to.check v) then f v else v; };
      # Options inside each value; names the submodule does not declare are free-form.
      submodule = m: type "submodule" isAttrs // { options = m.options or { }; };
    };
    toList = v: if isList v then v else [ v ];
    mkOptionType = { name, check, ... }: type name check;
    filterAttrs = pred: attrs: listToAttrs (map (name: { inherit name; value = attrs.${name}; }) (filter (name: pred name attrs.${name}) (attrNames attrs)));
    inherit (builtins) mapAttrs;
    genAttrs = names: f: listToAttrs (map (name: { inherit name; value = f name; }) names);
    mapAttrsToList = f: attrs: map (name: f name attrs.${name}) (attrNames attrs);
    getExe = drv: "${drv}/bin/${drv.meta.mainProgram or drv.pname or drv.name}";
    hiPrio = drv: drv // { meta = drv.meta // { priority = -10; }; };
    escapeShellArgs = base.shellWords;
    inherit (base) optional optionalAttrs;
    hm.dag.entryAfter = after: data: { inherit after data; };
  };

  isOption = v: isAttrs v && (v._type or null) == "option";
  isValueNode = v: isAttrs v && !(v ? _type) && !(v ? outPath);

  # A definition, flattened: { priority; conditions; value } with mkIf/mkMerge/mkOverride
  # taken off the top of `value`.
  flatten = priority: conditions: value:
    if isAttrs value && (value._type or null) == "if" then flatten priority (conditions ++ [ value.condition ]) value.content
    else if isAttrs value && (value._type or null) == "override" then flatten value.priority conditions value.content
    else if isAttrs value && (value._type or null) == "merge" then concatMap (flatten priority conditions) value.contents
    else [{ inherit priority conditions value; }];

  active = defs: filter (d: all (c: c) d.conditions) defs;

  absent = { _absent = true; };
  isAbsent = v: isAttrs v && v ? _absent;

  # The value of one option (or of a freeform leaf): the best priority's definitions.
  leaf = path: defs:
    let
      live = active defs;
      best = foldl' (p: d: if d.priority < p then d.priority else p) 100000 live;
      chosen = map (d: d.value) (filter (d: d.priority == best) live);
      name = base.shellWords path;
    in
    if live == [ ] then absent
    else if length chosen == 1 then head chosen
    else if all isList chosen then builtins.concatLists chosen
    else if all isValueNode chosen then node path null (map (v: { priority = best; conditions = [ ]; value = v; }) chosen)
    else if all (v: v == head chosen) chosen then head chosen
    else throw "conflicting definitions of ${name}: ${toJSON chosen}";

  # A merged option value checked against its type (and coerced, for coercedTo), failing as
  # the real module system does.
  checked = path: t: value:
    if t == null || !(t ? check) then value
    else if t.check value then (t.coerce or (v: v)) value
    else
      throw "A definition for option `${concatStringsSep "." path}' is not of type `${t.name}'. Definition values: ${
        if isString value || builtins.isInt value || builtins.isBool value || isList value then toJSON value else builtins.typeOf value}";

  # An attribute set of options and/or freeform values. Declared options are always
  # present, and so are the other names of a declared set (as `absent` when nothing defines
  # them): deciding would mean evaluating conditions that may read the set itself. Within
  # freeform sets, values whose conditions are all false are left out.
  node = path: declared: defs:
    let
      sets = filter (d: isValueNode d.value) defs;
      names = base.unique ((if declared == null then [ ] else attrNames declared) ++ concatMap (d: attrNames d.value) sets);
      child = name:
        let
          decl = if declared == null then null else declared.${name} or null;
          defs' = concatMap (d: if d.value ? ${name} then flatten d.priority d.conditions d.value.${name} else [ ]) sets;
          live = active defs';
        in
        if isOption decl && (decl.type.elem.options or null) != null then
        # attrsOf (submodule ...): each attribute is a node with the submodule's options.
          let names' = base.unique (concatMap (d: if isValueNode d.value then attrNames d.value else [ ]) live);
          in node (path ++ [ name ]) (listToAttrs (map (n: { name = n; value = decl.type.elem.options; }) names')) live
        else if isOption decl then
          let
            value = leaf (path ++ [ name ]) (defs' ++ (if decl ? default then [{ priority = 1500; conditions = [ ]; value = decl.default; }] else [ ]));
            typed = checked (path ++ [ name ]) (decl.type or null) value;
          in
          if isAbsent value then throw "option ${base.shellWords (path ++ [ name ])} is used but not defined"
          else if decl ? apply then decl.apply typed else typed
        else if decl != null then node (path ++ [ name ]) decl defs'
        else if live == [ ] then absent
        else if all (d: isValueNode d.value) live then node (path ++ [ name ]) null live
        else leaf (path ++ [ name ]) live;
      values = listToAttrs (map (name: { inherit name; value = child name; }) names);
    in
    if declared == null then listToAttrs (map (name: { inherit name; value = values.${name}; }) (filter (name: !isAbsent values.${name}) names))
    else values;

  # For comparing results: no `absent` markers, no empty sets.
  prune = value:
    if isValueNode value then
      let
        pruned = builtins.mapAttrs (_: prune) (removeAttrs value (filter (name: isAbsent value.${name}) (attrNames value)));
      in
      removeAttrs pruned (filter (name: pruned.${name} == { }) (attrNames pruned))
    else value;

  # Below these paths every option is declared by ballast's modules: a definition of any
  # other name is a mistake (a misspelt option), as the real module system would say.
  strict = path:
    builtins.any (prefix: builtins.length path >= builtins.length prefix && builtins.genList (i: builtins.elemAt path i) (builtins.length prefix) == prefix)
      [ [ "ballast" ] [ "programs" "ballast" ] ];

  # Definitions of names no module declares, below the strict paths (a misspelt option).
  # Walks the definitions as written, mkIf contents included, without evaluating values.
  undeclaredIn = path: declared: values:
    concatMap
      (value:
        if !isValueNode value then [ ]
        else
          concatMap
            (name:
              let here = path ++ [ name ];
              in
              if declared ? ${name} then
                (if isOption declared.${name} then [ ]
                else undeclaredIn here declared.${name} (map (d: d.value) (flatten 100 [ ] value.${name})))
              else if strict path then [ (concatStringsSep "." here) ]
              else [ ])
            (attrNames value))
      values;

  load = m: if isPath m || isString m then { key = toString m; module = import m; } else { key = null; module = m; };

  # pkgs: the stand-in packages above, or another set (the stand-in nixpkgs of stubs/).
  evalModules = { modules, specialArgs ? { }, pkgs ? stubPkgs }:
    let
      args = { inherit config lib pkgs options; } // specialArgs;
      shape = module:
        let r = removeAttrs module [ "_file" "key" ];
        in
        if r ? options || r ? config
        then { imports = r.imports or [ ]; options = r.options or { }; config = r.config or { }; }
        else { imports = r.imports or [ ]; options = { }; config = removeAttrs r [ "imports" ]; };
      collect = seen: done: todo:
        if todo == [ ] then done
        else
          let
            loaded = load (head todo);
            result = shape (if isFunction loaded.module then loaded.module args else loaded.module);
          in
          if loaded.key != null && elem loaded.key seen then collect seen done (tail todo)
          else collect (seen ++ base.optional (loaded.key != null) loaded.key) (done ++ [ result ]) (result.imports ++ tail todo);
      all' = collect [ ] [ ] modules;
      mergeDecls = a: b: a // listToAttrs (map
        (name: {
          inherit name;
          value =
            if !(a ? ${name}) then b.${name}
            else if isOption a.${name} || isOption b.${name} then throw "option ${name} is declared twice (a module imported twice?)"
            else mergeDecls a.${name} b.${name};
        })
        (attrNames b));
      options = foldl' mergeDecls { } (map (m: m.options) all');
      config = node [ ] options (concatMap (m: flatten 100 [ ] m.config) all');
    in
    {
      inherit config options;
      failedAssertions = map (a: a.message) (filter (a: !a.assertion) (config.assertions or [ ]));
      undeclared = undeclaredIn [ ] options (map (d: d.value) (concatMap (m: flatten 100 [ ] m.config) all'));
    };
  # home-manager's configuration: ballast's modules with the home-manager options they touch.
  evalHome = args: evalModules (args // { modules = args.modules ++ [ ./home-manager.nix ]; });
in
{
  inherit lib package evalModules evalHome store prune;
  pkgs = stubPkgs;
}
