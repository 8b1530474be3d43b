export { convertAdt, DEFAULT_IDENTIFIER_SYSTEM_BASE, type ConvertOptions } from "./adt";
export { ConversionError, UnsupportedMessageError } from "./errors";
export { guidFromInput, idInput, makeId, setIdInputRecorder, setSharedIdCache, type IdStrategy } from "./ids";
export { SUPPORTED_EVENTS, validateHl7ForIngest } from "./validate";
export { checkOffset, checkTimeZone, toFhirDate, toFhirDateTime, toFhirInstant } from "./datetime";
