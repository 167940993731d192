# ballast's config file ($XDG_CONFIG_HOME/ballast/config.toml) from Nix values. The file is
# an overlay on the embedded default profile, merged as ballast merges it
# (src/profile/mod.rs: tables key by key, [[category]] and [[app]] entries by id, other
# arrays replaced), so Nix writes only what differs.
let
  inherit (builtins) attrNames elem filter isAttrs isList listToAttrs map;
  base = import ./base.nix;
  toml = import ./toml.nix;

  byId = [ "app" "category" ];

  # `app` and `category` may be written as attribute sets keyed by id (what Nix modules merge
  # well) or as lists of entries with `id`, as in TOML.
  entries = value:
    if isList value then value
    else map (id: { inherit id; } // value.${id}) (attrNames value);

  normalize = settings:
    settings // listToAttrs (map
      (name: { inherit name; value = entries settings.${name}; })
      (filter (name: settings ? ${name}) byId));

  mergeEntries = left: right:
    let
      ids = map (e: e.id) left;
      updated = map
        (l:
          let match = filter (r: r ? id && r.id == l.id) right;
          in builtins.foldl' merge l match)
        left;
      added = filter (r: !(r ? id) || !elem r.id ids) right;
    in
    updated ++ added;

  # ballast's overlay merge: the right side wins.
  merge = left: right:
    left // listToAttrs (map
      (name: {
        inherit name;
        value =
          if left ? ${name} && isAttrs left.${name} && isAttrs right.${name} && !(right.${name} ? outPath)
          then merge left.${name} right.${name}
          else if left ? ${name} && isList left.${name} && isList right.${name} && elem name byId
          then mergeEntries left.${name} right.${name}
          else right.${name};
      })
      (attrNames right));

  # The overlay home-manager writes. `profile` is the selected hardware profile's `ballast`
  # part: written only when it differs from the reference (the embedded default), so the
  # file stays small on the reference machine and a profile for another machine still takes
  # effect. `settings` is the user's overlay; `execs` pins catalog apps to absolute binaries
  # (the electronApps wrappers, which must not find themselves on PATH).
  overlay = { profile ? null, reference ? null, settings ? { }, execs ? { } }:
    let
      fromProfile = if profile == null || profile == reference then { } else profile;
      pins = if execs == { } then { } else { app = map (id: { inherit id; exec = execs.${id}; }) (attrNames execs); };
    in
    merge (merge (normalize fromProfile) (normalize settings)) pins;
in
{
  inherit normalize merge overlay;
  text = args: toml.toTOML (overlay args);
  isEmpty = args: overlay args == { };
  inherit (base) recursiveUpdate;
}
