# nix/lib/units.nix: sizes and quotas as ballast parses and prints them.
let
  u = import ../lib/units.nix;
in
{
  parsesSuffixes = {
    expr = map u.parseSize [ "512M" "2G" "2g" "1T" "64K" "4096" "1.5G" "1.5GiB" "1.5GB" " 3 M " ".5K" "1.G" ];
    expected = [ 536870912 2147483648 2147483648 1099511627776 65536 4096 1610612736 1610612736 1610612736 3145728 512 1073741824 ];
  };
  integersAreBytes = { expr = u.parseSize 4096; expected = 4096; };
  fractionsRoundDown = { expr = u.parseSize "0.3K"; expected = 307; };
  refusesWords = { throws = u.parseSize "lots"; };
  refusesTwoDots = { throws = u.parseSize "1.2.3G"; };
  refusesUnknownUnit = { throws = u.parseSize "3X"; };
  refusesEmpty = { throws = u.parseSize ""; };
  printsShortestExact = {
    expr = map u.formatSize [ 536870912 2147483648 1610612736 12884901888 15032385536 1500 0 1024 1536 ];
    expected = [ "512M" "2G" "1.5G" "12G" "14G" "1500" "0" "1K" "1.5K" ];
  };
  roundTrips = {
    expr = map (s: u.formatSize (u.parseSize s)) [ "3.5G" "10G" "256M" "2.5G" "400M" ];
    expected = [ "3.5G" "10G" "256M" "2.5G" "400M" ];
  };
  quotas = { expr = map u.parseQuota [ "150%" "600%" " 50 % " ]; expected = [ 150 600 50 ]; };
  quotaNeedsPercent = { throws = u.parseQuota "150"; };
  quotaAboveZero = { throws = u.parseQuota "0%"; };
  formatsQuota = { expr = u.formatQuota 600; expected = "600%"; };
  percentRounds = { expr = map u.percent [ 0.75 0.5 0.125 1.0 ]; expected = [ 75 50 13 100 ]; };
  scales = { expr = u.scaleSize "16G" 3 4; expected = 12884901888; };
}
