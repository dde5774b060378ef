# A minimal stand-in for nixpkgs' lib: only the functions some-pkgs' Nix files call, with the same
# meaning, so that tests/nix/eval-pure.nix can evaluate them without nixpkgs (see check-nix.sh).
let
  lib = rec {
    inherit (builtins)
      all
      any
      attrValues
      concatMap
      elem
      filter
      isAttrs
      ;
    inherit (builtins) foldl';
    importJSON = path: builtins.fromJSON (builtins.readFile path);
    findFirst =
      pred: default: list:
      let
        found = builtins.filter pred list;
      in
      if found == [ ] then default else builtins.head found;
    mapAttrsToList = f: attrs: map (name: f name attrs.${name}) (builtins.attrNames attrs);
    optionalAttrs = cond: attrs: if cond then attrs else { };
    optionals = cond: xs: if cond then xs else [ ];
    optional = cond: x: if cond then [ x ] else [ ];
    optionalString = cond: s: if cond then s else "";
    toList = x: if builtins.isList x then x else [ x ];
    unique = builtins.foldl' (acc: x: if builtins.elem x acc then acc else acc ++ [ x ]) [ ];
    genAttrs =
      names: f:
      builtins.listToAttrs (
        map (n: {
          name = n;
          value = f n;
        }) names
      );
    filterAttrs =
      pred: set:
      builtins.listToAttrs (
        builtins.concatMap (
          n:
          if pred n set.${n} then
            [
              {
                name = n;
                value = set.${n};
              }
            ]
          else
            [ ]
        ) (builtins.attrNames set)
      );
    isDerivation = x: builtins.isAttrs x && x.type or null == "derivation";
    getName = x: x.pname or (builtins.parseDrvName x.name).name;
    getExe = x: "${x}/bin/${x.meta.mainProgram}";
    getLib = x: x.lib or x.out or x;
    cmakeFeature = feature: value: "-D${feature}:STRING=${value}";
    cmakeBool = condition: flag: "-D${condition}:BOOL=${if flag then "TRUE" else "FALSE"}";
    hasInfix =
      infix: s:
      let
        n = builtins.stringLength infix;
        go = i: i + n <= builtins.stringLength s && (builtins.substring i n s == infix || go (i + 1));
      in
      go 0;
    meta.availableOn = _platform: _pkg: true;
    # The source is not needed to evaluate; a string keeps the tree out of the store.
    fileset = {
      toSource = { root, fileset }: "stub-source";
      unions = xs: xs;
      difference = a: _b: a;
    };
    licenses = {
      mit = {
        shortName = "MIT";
        free = true;
      };
      unfreeRedistributable = {
        shortName = "unfree-redistributable";
        free = false;
        redistributable = true;
      };
    };
    platforms = {
      linux = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      all = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
    };
  };
in
lib
