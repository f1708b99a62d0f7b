"""A stock XML-RPC peer: python3's xmlrpc.client against a vem XML-RPC server.
Usage: xmlrpc_peer.py URL|unix:PATH TOKEN SCRIPT_JSON
Runs each call in SCRIPT_JSON ([[method, [args...]], ...]; args use {"$b64": "..."},
{"$date": "iso"} and {"$big": n} for base64, dateTime and float) and prints JSON results."""
import base64, datetime, http.client, json, socket, sys, xmlrpc.client


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__('localhost')
        self.path_ = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path_)


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path, headers):
        super().__init__(use_builtin_types=True, headers=headers)
        self.path_ = path

    def make_connection(self, host):
        return UnixConnection(self.path_)


def arg(v):
    if isinstance(v, dict) and '$b64' in v:
        return base64.b64decode(v['$b64'])
    if isinstance(v, dict) and '$date' in v:
        return datetime.datetime.fromisoformat(v['$date'])
    if isinstance(v, dict) and '$big' in v:
        return float(v['$big'])
    if isinstance(v, dict):
        return {k: arg(x) for k, x in v.items()}
    if isinstance(v, list):
        return [arg(x) for x in v]
    return v


def out(v):
    if isinstance(v, (bytes, bytearray)):
        return {'$b64': base64.b64encode(v).decode()}
    if isinstance(v, datetime.datetime):
        return {'$date': v.isoformat()}
    if isinstance(v, float):
        return {'$float': v}
    if isinstance(v, dict):
        return {k: out(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [out(x) for x in v]
    return v


def main():
    target, token, script = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    headers = [('Authorization', 'Bearer ' + token)] if token else []
    if target.startswith('unix:'):
        proxy = xmlrpc.client.ServerProxy('http://localhost/RPC2', transport=UnixTransport(target[5:], headers), allow_none=True, use_builtin_types=True)
    else:
        proxy = xmlrpc.client.ServerProxy(target, allow_none=True, use_builtin_types=True, headers=headers)
    results = []
    for method, args in script:
        try:
            if method == '$multicall':
                mc = xmlrpc.client.MultiCall(proxy)
                for m, a in args:
                    getattr(mc, m)(*[arg(x) for x in a])
                r = []
                res = mc()
                for i in range(len(args)):
                    try:
                        r.append({'ok': out(res[i])})
                    except xmlrpc.client.Fault as f:
                        r.append({'fault': f.faultCode, 'message': f.faultString})
                results.append({'ok': r})
            else:
                results.append({'ok': out(getattr(proxy, method)(*[arg(x) for x in args]))})
        except xmlrpc.client.Fault as f:
            results.append({'fault': f.faultCode, 'message': f.faultString})
        except xmlrpc.client.ProtocolError as e:
            results.append({'http': e.errcode})
    print(json.dumps(results))


main()
