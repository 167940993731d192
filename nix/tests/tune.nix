# nix/lib/tune.nix: `ballast tune` at activation.
let
  t = import ../lib/tune.nix;
in
{
  nothing = { expr = t.argv { ballast = "b"; }; expected = null; };
  kwin = { expr = t.argv { ballast = "b"; kwin = true; }; expected = [ "b" "tune" "kwin" "--apply" ]; };
  both = {
    expr = t.argv { ballast = "b"; kwin = true; baloo = true; profileFile = "/c.toml"; };
    expected = [ "b" "--profile" "/c.toml" "tune" "all" "--apply" ];
  };
  baloo = { expr = t.argv { ballast = "b"; baloo = true; }; expected = [ "b" "tune" "baloo" "--apply" ]; };
}
