// Stands in, inside the node bundle deployed to AWS, for packages used only in local mode
// (lib/node-bundle.ts, LOCAL_ONLY_MODULES): it loads, and throws only if called.
'use strict';
module.exports = function localOnlyModule() {
  throw new Error('this package is for local mode only and is not part of the node bundle deployed to AWS');
};
