# nix/lib/toml.nix: the TOML writer.
let
  t = import ../lib/toml.nix;
in
{
  scalars = {
    expr = t.toTOML { a = 1; b = true; c = "x"; d = 0.5; e = 10.0; f = [ 1 2 ]; g = null; };
    expected = "a = 1\nb = true\nc = \"x\"\nd = 0.5\ne = 10.0\nf = [1, 2]\n";
  };
  stringEscapes = {
    expr = t.toTOML { s = "a\"b\\c\nd\te"; };
    expected = ''s = "a\"b\\c\nd\te"'' + "\n";
  };
  keysQuotedWhenNeeded = { expr = t.toTOML { "a b" = 1; "a-b_c" = 2; }; expected = "\"a b\" = 1\na-b_c = 2\n"; };
  tables = {
    expr = t.toTOML { top = 1; budget.idle_total = "3G"; tune.kwin.backend = "OpenGL"; tune.baloo.only_basic_indexing = true; };
    expected = "top = 1\n\n[budget]\nidle_total = \"3G\"\n\n[tune.baloo]\nonly_basic_indexing = true\n\n[tune.kwin]\nbackend = \"OpenGL\"\n";
  };
  emptyTableKeepsHeader = { expr = t.toTOML { x = { }; }; expected = "[x]\n"; };
  arraysOfTables = {
    expr = t.toTOML { app = [{ id = "b"; memory_max = "2G"; } { id = "a"; }]; };
    expected = "[[app]]\nid = \"b\"\nmemory_max = \"2G\"\n\n[[app]]\nid = \"a\"\n";
  };
  packagesAreStrings = { expr = t.toTOML { exec = { outPath = "/nix/store/x"; }; }; expected = "exec = \"/nix/store/x\"\n"; };
  refusesFunctions = { throws = t.toTOML { f = x: x; }; };
  documentIsATable = { throws = t.toTOML [ 1 ]; };
}
