# A stand-in for the NixOS/home-manager module system, builtins only, so that
# nix-instantiate can evaluate ballast's modules where nixpkgs cannot be fetched. It has the
# parts of nixpkgs' `lib` the modules use and a small evaluator: imports (each path once),
# option defaults, definitions with priorities (mkDefault, mkForce), mkIf and mkMerge pushed
# down to each value, lists concatenated, attribute sets merged.
#
# It is not the real thing: no type checking, and options of NixOS or home-manager are not
# declared here, so any path may be defined. It checks that the modules hand the lib's
# decisions to the right options; the flake's checks evaluate them with nixpkgs itself.
let
  inherit (builtins)
    all attrNames concatMap concatStringsSep elem filter foldl' head isAttrs isFunction
    isList isPath isString length listToAttrs tail toJSON;
  base = import ../../lib/base.nix;

  store = name: "/nix/store/00000000000000000000000000000000-${name}";

  # A package: enough for "${pkg}", lib.getExe and meta.priority.
  package = name: {
    type = "derivation";
    inherit name;
    pname = name;
    outPath = store name;
    meta.mainProgram = name;
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

  type = name: { _type = "type"; inherit name; };

  lib = rec {
    mkOption = attrs: attrs // { _type = "option"; };
    mkEnableOption = what: mkOption { type = types.bool; default = false; description = "Whether to enable ${what}."; };
    mkIf = condition: content: { _type = "if"; inherit condition content; };
    mkMerge = contents: { _type = "merge"; inherit contents; };
    mkOverride = priority: content: { _type = "override"; inherit priority content; };
    mkDefault = mkOverride 1000;
    mkForce = mkOverride 50;
    literalExpression = text: { _type = "literalExpression"; inherit text; };
    types = {
      bool = type "bool";
      int = type "int";
      str = type "str";
      attrs = type "attrs";
      package = type "package";
      anything = type "anything";
      ints.positive = type "positive int";
      attrsOf = _: type "attrsOf";
      listOf = _: type "listOf";
      nullOr = _: type "nullOr";
      enum = _: type "enum";
    };
    inherit (builtins) mapAttrs;
    genAttrs = names: f: listToAttrs (map (name: { inherit name; value = f name; }) names);
    mapAttrsToList = f: attrs: map (name: f name attrs.${name}) (attrNames attrs);
    getExe = drv: "${drv}/bin/${drv.meta.mainProgram}";
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
        if isOption decl then
          let
            value = leaf (path ++ [ name ]) (defs' ++ (if decl ? default then [{ priority = 1500; conditions = [ ]; value = decl.default; }] else [ ]));
            applied = if decl ? apply then decl.apply value else value;
          in
          if isAbsent value then throw "option ${base.shellWords (path ++ [ name ])} is used but not defined" else applied
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
in
{
  inherit lib package evalModules store prune;
  pkgs = stubPkgs;
}
