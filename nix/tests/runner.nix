# A test runner for nix-instantiate --eval --strict, builtins only.
#
# A suite is an attribute set of tests: { expr; expected; } compares with ==, and
# { throws = expr; } expects evaluating expr (deeply) to fail (throw or assert).
# run returns { total; failures = [ { name; expected; actual; } ]; }.
let
  inherit (builtins) attrNames deepSeq filter length tryEval;

  check = name: test:
    if test ? throws then
      let result = tryEval (deepSeq test.throws test.throws);
      in if result.success then { inherit name; expected = "an evaluation error"; actual = result.value; } else null
    else if test.expr == test.expected then null
    else { inherit name; inherit (test) expected; actual = test.expr; };
in
{
  run = suite:
    let names = attrNames suite;
    in
    {
      total = length names;
      failures = filter (f: f != null) (map (name: check name suite.${name}) names);
    };
}
