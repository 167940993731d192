# `ballast tune` at home-manager activation: which targets, with which profile file.
{
  # null when neither target is chosen.
  argv = { ballast, kwin ? false, baloo ? false, profileFile ? null }:
    let
      target =
        if kwin && baloo then "all"
        else if kwin then "kwin"
        else if baloo then "baloo"
        else null;
    in
    if target == null then null
    else [ ballast ] ++ (if profileFile == null then [ ] else [ "--profile" profileFile ]) ++ [ "tune" target "--apply" ];
}
