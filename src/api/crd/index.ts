/** CustomResourceDefinitions: schemas, the definition's rules, and the controller that serves what they define. */
export { CrdController, type CrdControllerHost } from './controller.js';
export { CRD_CLEANUP_FINALIZER, CRD_GROUP, servedResources, validateCrd, type CustomResourceDefinition } from './definition.js';
export { applySchemaDefaults, prune, validateStructural, validateValue, type JSONSchemaProps } from './schema.js';
export { evaluateJsonPath } from './jsonpath.js';
export { servedAs } from './versions.js';
