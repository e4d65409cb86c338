# Computes the padded-field vectors (testdata/field-v2-*.hex) independently of
# internal/seal: HChaCha20 by hand, ChaCha20-Poly1305 from Python's
# cryptography package. Run from internal/seal: python3 testdata/field_vectors.py
# Independent XChaCha20-Poly1305 (HChaCha20 by hand + cryptography's ChaCha20Poly1305)
import struct, sys
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
def rotl(v,c): return ((v<<c)&0xffffffff)|(v>>(32-c))
def qr(s,a,b,c,d):
    s[a]=(s[a]+s[b])&0xffffffff; s[d]^=s[a]; s[d]=rotl(s[d],16)
    s[c]=(s[c]+s[d])&0xffffffff; s[b]^=s[c]; s[b]=rotl(s[b],12)
    s[a]=(s[a]+s[b])&0xffffffff; s[d]^=s[a]; s[d]=rotl(s[d],8)
    s[c]=(s[c]+s[d])&0xffffffff; s[b]^=s[c]; s[b]=rotl(s[b],7)
def hchacha(key, n16):
    s=[0x61707865,0x3320646e,0x79622d32,0x6b206574]+list(struct.unpack('<8I',key))+list(struct.unpack('<4I',n16))
    for _ in range(10):
        qr(s,0,4,8,12);qr(s,1,5,9,13);qr(s,2,6,10,14);qr(s,3,7,11,15)
        qr(s,0,5,10,15);qr(s,1,6,11,12);qr(s,2,7,8,13);qr(s,3,4,9,14)
    return struct.pack('<8I',*(s[0:4]+s[12:16]))
def xseal(key,nonce,pt,ad):
    sub=hchacha(key,nonce[:16])
    return ChaCha20Poly1305(sub).encrypt(b'\0'*4+nonce[16:],pt,ad)
def lp(b): return struct.pack('>I',len(b))+b
def ad(ver,domain,a,b): return bytes([ver])+lp(domain)+lp(a)+lp(b)
key=bytes(range(32)); nonce=bytes(range(0xa0,0xb8))
# check against the existing v1 vector
v1=bytes([1])+nonce+xseal(key,nonce,b"Nilitumiwa ujumbe wa vitisho.",ad(1,b"salama/field",b"r-0001",b"narrative"))
print("v1", v1.hex())
def v2(pt,size):
    padded=pt+b'\x80'+b'\0'*(size-len(pt)-1)
    return bytes([2])+nonce+xseal(key,nonce,padded,ad(2,b"salama/field",b"r-0001",b"narrative"))
a=v2(b"Nilitumiwa ujumbe wa vitisho.",256)
open('testdata/field-v2-short.hex','w').write(a.hex()+"\n")
long_pt=(b"Alinitumia picha na kutishia kuzisambaza. "*8)[:300]
b=v2(long_pt,512)
open('testdata/field-v2-300.hex','w').write(b.hex()+"\n")
e=v2(b"",256)
open('testdata/field-v2-empty.hex','w').write(e.hex()+"\n")
print(len(a),len(b),len(e))
