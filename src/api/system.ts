/** system.*: XML-RPC introspection and multicall (served by the registry itself). */
import { method } from './method.js';
import { any, array, string } from './schema.js';

export const system = {
  listMethods: method({
    name: 'system.listMethods',
    help: 'The names of every method this server offers.',
    params: [],
    result: array(string),
  }),
  methodHelp: method({
    name: 'system.methodHelp',
    help: 'A description of one method: what it does, its arguments and its result.',
    params: [string],
    result: string,
  }),
  methodSignature: method({
    name: 'system.methodSignature',
    help: 'The signatures of one method: a list of [returnType, paramType...] arrays.',
    params: [string],
    result: array(array(string)),
  }),
  multicall: method({
    name: 'system.multicall',
    help: 'Runs several calls in one request. Argument: an array of structs {methodName, params}. Result: an array with, per call, either a one-element array holding its result or a struct {faultCode, faultString}. Calls run one after another, in order; system.multicall cannot be nested.',
    params: [array(any)],
    result: array(any),
  }),
};
