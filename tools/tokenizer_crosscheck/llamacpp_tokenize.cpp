// tools/tokenizer_crosscheck: the llama.cpp side (run.sh builds it against libllama).
// Dev-time cross-check: tokenize each line-separated case (hex) with llama.cpp (vocab only, no BOS, no special parsing)
#include "llama.h"
#include <cstdio>
#include <string>
#include <vector>
#include <cstring>
static std::string unhex(const std::string &h){std::string s;for(size_t i=0;i+1<h.size();i+=2)s.push_back((char)std::stoi(h.substr(i,2),nullptr,16));return s;}
int main(int argc,char**argv){
  llama_backend_init();
  auto mp=llama_model_default_params(); mp.vocab_only=true;
  llama_model*m=llama_model_load_from_file(argv[1],mp);
  if(!m){fprintf(stderr,"load failed\n");return 1;}
  const llama_vocab*v=llama_model_get_vocab(m);
  char line[1<<16];
  while(fgets(line,sizeof line,stdin)){
    std::string h(line); while(!h.empty()&&(h.back()=='\n'||h.back()=='\r'))h.pop_back();
    std::string s=unhex(h);
    std::vector<llama_token> t(s.size()*4+16);
    int n=llama_tokenize(v,s.data(),(int)s.size(),t.data(),(int)t.size(),false,false);
    if(n<0){printf("ERR\n");continue;}
    for(int i=0;i<n;i++)printf(i?" %d":"%d",t[i]); printf("\n");
  }
  llama_model_free(m);
}
